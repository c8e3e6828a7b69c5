"""Retrieval: multi-vector encoders, MUVERA FDEs, exact MaxSim re-ranking, search pipelines."""
