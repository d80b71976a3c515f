"""scikit-learn's bundled 8×8 handwritten digits, the offline default task's data (``files``)."""
