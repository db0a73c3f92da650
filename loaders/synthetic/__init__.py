"""The synthetic district generator: `python -m loaders.synthetic` (see generate.py).

It depends only on the extract contracts and the reference rules (loaders.contracts,
loaders.reference), never on the model build, so the data can be made before any model exists.
"""
