"""The read layer: every figure a page shows, selected and filtered from the model's marts.

`connection` opens a built model read-only and runs parameterised queries; then one module per page
domain: `programme` (the Overview), `referrals` (Referrals & allocation), `quality` (Data quality
and the clerical review queue), `plan` (Near threshold, Claims & returns and the Outcomes plan) and
`sources` (which extracts the model has, and what is not available without the others);
`lookup_family` (the family lookup's family and each person's services, lookup.yaml's rules).
Rules live in the model (marts and the macros of models/macros/functions.sql); these modules only
select, filter and pass a user's choices in as parameters.
"""

from data_model.read.connection import model_tables, open_model, query_frame, query_row

__all__ = ["model_tables", "open_model", "query_frame", "query_row"]
