"""The feed suites' batches as tables of their own: the columns each feed suite judges, filled with the rows no
publication has checked yet before the gate's checkpoint and emptied after it (kopru.quality.gx.fill_feed_batches).
Warehouses of earlier builds kept them as views (or tables the gate made at run time): those go.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from kopru.schema import as_owner, run

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen as a migration must be: a check added to the contract comes with a revision (tests/test_schema.py).
BATCHES = {
    "unpublished_rows__belediye__households": "head_tckn_status text, updated_at__days_before_delivery integer",
    "unpublished_rows__belediye__persons": "tckn_status text, updated_at__days_before_delivery integer",
    "unpublished_rows__belediye__assessments": (
        "visit_date__days_before_delivery integer, monthly_income_try numeric(14,2), monthly_rent_try numeric(14,2)"),
    "unpublished_rows__belediye__aid": (
        "amount_try numeric(14,2), delivered_on__days_before_delivery integer, "
        "isas_entered_on__days_before_delivery integer"),
    "unpublished_rows__belediye__services": (
        "opened_on__days_before_delivery integer, closed_on__days_before_delivery integer"),
    "unpublished_rows__belediye__employment_referrals": (
        "tckn_status text, referred_on__days_before_delivery integer"),
    "unpublished_rows__belediye__surveys": "responded_on__days_before_delivery integer",
    "unpublished_rows__sosyalkart__transactions": "islem_zamani__days_before_delivery integer",
    "unpublished_rows__devlet__sydv_yardim": (
        "tc_kimlik_no_status text, tutar numeric(14,2), odeme_tarihi__days_before_delivery integer"),
    "unpublished_rows__devlet__isas_alindi": "tc_kimlik_no_status text, alinma_zamani__days_before_delivery integer",
    "unpublished_rows__devlet__iskur_teklif": (
        "tc_kimlik_no_status text, teklif_tarihi__days_before_delivery integer, "
        "sonuc_tarihi__days_before_delivery integer"),
    "unpublished_rows__stk__aid_rows": "amount_try numeric(14,2), delivered_on__days_before_delivery integer",
    "unpublished_rows__stk__ids": "ngo_code text, tckn_status text",
}

DROP_EARLIER = r"""do $$
declare
    earlier record;
begin
    for earlier in
        select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'quality' and c.relname like 'unpublished\_rows\_\_%' and c.relkind in ('v', 'r')
    loop
        execute format('drop %s quality.%I', case earlier.relkind when 'v' then 'view' else 'table' end,
                       earlier.relname);
    end loop;
end $$;
"""


def upgrade() -> None:
    as_owner("gate")
    run(DROP_EARLIER)
    # Unlogged: a batch is filled again by every gate run, and a crash only empties it.
    for name, columns in BATCHES.items():
        run(f"create unlogged table quality.{name} (_file_id bigint not null, {columns});")
    as_owner(None)
