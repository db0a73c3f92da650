"""The pages' small UI vocabulary: formats, the model connection, page furniture, metric rows,
the standard charts, tables with downloads and filters.

No business rule lives here: every number comes from `data_model.read`; these modules only open
the model, call its functions (cached per model file) and draw what they return. Not a page:
only what app.py registers with st.navigation (pages/registry.py) is one.
"""
