"""Data: the processed-log format, vocabulary, splits and batch tensors (SPEC 2)."""
