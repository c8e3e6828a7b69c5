"""Encoder internals: length-sorted token-budget batching and the ONNX Runtime inference path."""
