"""Reference rules that both the generator and the model use (the bank-holiday calendar).

The lowest layer: it imports nothing from the rest of the project.
"""
