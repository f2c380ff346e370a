#!/usr/bin/env bash
# docker compose's superset-init: Superset's metadata database, its admin, and the same dashboard `kopru bi` imports
# (bundle/), with the warehouse's read-only BI login written into its connection. Safe to run again.
set -euo pipefail
pip install --no-cache-dir -r /app/kopru/requirements-compose.txt
superset db upgrade
superset fab create-admin --username admin --firstname Köprü --lastname BI --email bi@kopru.invalid \
    --password "$SUPERSET_ADMIN_PASSWORD" || true  # already there on a second start
superset init
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r /app/kopru/bundle "$work/kopru_bundle"
python - "$work" <<'PY'
import os, shutil, sys, urllib.parse
work = sys.argv[1]
path = os.path.join(work, "kopru_bundle", "databases", "kopru_marts.yaml")
password = urllib.parse.quote(os.environ["BI_READER_PASSWORD"], safe="")
url = f"postgresql+psycopg2://bi_reader_login:{password}@warehouse:5432/kopru"
with open(path, encoding="utf-8") as handle:
    text = handle.read().replace("{bi_url}", url)
with open(path, "w", encoding="utf-8") as handle:
    handle.write(text)
shutil.make_archive(os.path.join(work, "kopru_dashboard"), "zip", work, "kopru_bundle")
PY
superset import-dashboards -p "$work/kopru_dashboard.zip" -u admin
