"""Indexes on disk: FAISS float (FDE MIPS) indexes, token and document stores, versions."""
