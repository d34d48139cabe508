"""The code behind `model.py` and `mnist_classification.py`, one module per concern.

Nothing here runs at import time and nothing imports TensorFlow until it is needed,
so the scripts answer `--help` at once. The scripts import this package; the package
never imports a script.
"""
