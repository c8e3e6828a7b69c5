"""A one-layer, 32-dimensional BERT with a ten-word vocabulary: fast encoder tests and exports."""

from __future__ import annotations

from pathlib import Path

import torch

__all__ = ["tiny_bert"]


def tiny_bert(path: Path):
    """A seeded tiny ``BertModel`` (not yet saved); its fast tokenizer is saved into ``path``."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "band", "gap", "oxide", "metal", "##s"]
    BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}).save_pretrained(path)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    return BertModel(config)
