"""Measuring the registry's record linkage against the generator's ground truth.

The ground truth (written beside the inbox, never into it) names the municipal person every NGO row really belongs
to, or none. The warehouse only ever sees pseudonyms, so the truth's person ids are keyed the same way
(`person_key`) and compared with `staging.int_ngo_rows__linked`. Each run is kept in `quality.linkage_evaluation`.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

from kopru import config
from kopru.identity import pseudonym


@dataclass
class LinkageScore:
    rows_evaluated: int
    should_link: int  # rows whose person is in the registry
    linked: int
    linked_correctly: int
    linked_by_id: int
    linked_by_name: int
    name_links_correct: int

    @property
    def precision(self) -> float:
        return self.linked_correctly / self.linked if self.linked else 1.0

    @property
    def recall(self) -> float:
        return self.linked_correctly / self.should_link if self.should_link else 1.0


def evaluate(truth_csv: Path, record: bool = True) -> LinkageScore:
    from kopru import warehouse

    key = config.pseudonym_key()
    with open(truth_csv, encoding="utf-8") as handle:
        truth = {
            (row["ngo_code"], row["delivery_month"], int(row["row_in_file"])):
                pseudonym(row["person_id"], key, "person_key") if row["person_id"] else None
            for row in csv.DictReader(handle)
        }
    with warehouse.connect(autocommit=True, role="gate") as conn:
        linked = conn.execute(
            """select ngo_code, delivery_month, row_in_file, person_key, link_method
               from staging.int_ngo_rows__linked"""
        ).fetchall()
        threshold = None
        score = _score(truth, linked)
        if record:
            conn.execute(
                """insert into quality.linkage_evaluation (rows_evaluated, should_link, linked, linked_correctly,
                       linked_by_id, linked_by_name, name_links_correct, precision, recall, threshold)
                   values (%(rows_evaluated)s, %(should_link)s, %(linked)s, %(linked_correctly)s, %(linked_by_id)s,
                           %(linked_by_name)s, %(name_links_correct)s, %(precision)s, %(recall)s, %(threshold)s)""",
                asdict(score) | {"precision": score.precision, "recall": score.recall, "threshold": threshold},
            )
    return score


def _score(truth: dict, linked: list[tuple]) -> LinkageScore:
    """Rows the warehouse holds (quarantined rows are not there to link) against what the truth says of them."""
    rows = should = made = correct = by_id = by_name = name_correct = 0
    for ngo_code, month, row_in_file, person_key, method in linked:
        expected = truth.get((ngo_code, month, row_in_file))
        rows += 1
        should += expected is not None
        if person_key is None:
            continue
        made += 1
        right = person_key == expected
        correct += right
        if method == "tckn":
            by_id += 1
        else:
            by_name += 1
            name_correct += right
    return LinkageScore(rows, should, made, correct, by_id, by_name, name_correct)
