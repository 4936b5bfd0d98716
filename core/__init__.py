"""Digit Studio core: data, preprocessing, models, training and inference.

Everything here is plain Python that runs without a browser; nothing in this
package imports streamlit. Heavy modules (TensorFlow) are imported only by the
submodules that need them, so ``core.preprocess`` and ``core.data`` stay quick
to import.
"""
