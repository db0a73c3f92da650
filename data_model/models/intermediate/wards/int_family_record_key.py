"""A record key per family for cell key perturbation (data_model/disclosure.py): an integer from 0
to 255, the same for the same family in every build.

The key is a keyed hash (HMAC-SHA256, first byte) of the family's index child's first
registration (source and the source system's own person id, the smallest of the child's): source
systems keep their ids, so the key survives rebuilds and relinkage, and the index child (the
child named on the family's first referral, else the eldest child) rarely changes. The hash key is
secret, so no one can work a family's record key out from its ids: the council's
(FFI_RECORD_KEY_SECRET, never stored), else the one the model being replaced kept in
int_record_key_secret (a random one for a first build), kept again here for the next build.

Reads mart_family and int_person_link; writes int_family_record_key and int_record_key_secret.
"""

import os

import pyarrow as pa

from data_model.disclosure import (
    RECORD_KEY_SECRET_ENV,
    RECORD_KEY_SECRET_TABLE,
    record_key_secret,
    record_keys,
)

INPUTS = ("mart_family", "int_person_link")
OUTPUTS = ("int_record_key_secret",)  # RECORD_KEY_SECRET_TABLE, as a literal the runner reads


def build(con, context: dict) -> None:
    families = con.execute(
        """
        select family.family_key, min(link.registration_id) as registration_id
        from mart_family as family
        inner join int_person_link as link on link.person_key = family.index_person_key
        group by family.family_key
        order by family.family_key
        """
    ).fetchall()
    secret = record_key_secret(context.get("model_path"))
    kept = None if os.environ.get(RECORD_KEY_SECRET_ENV) else secret.decode("utf-8")
    con.execute(f"create or replace table {RECORD_KEY_SECRET_TABLE} (secret varchar)")
    if kept:
        con.execute(f"insert into {RECORD_KEY_SECRET_TABLE} values (?)", [kept])
    keys = record_keys([registration for _, registration in families], secret)
    keyed = pa.table(
        {
            "family_key": pa.array([family for family, _ in families], pa.string()),
            "record_key": pa.array(keys, pa.int32()),
        }
    )
    con.register("family_record_keys", keyed)
    con.execute("create or replace table int_family_record_key as select * from family_record_keys")
    con.unregister("family_record_keys")
