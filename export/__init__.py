"""ONNX export of the reward model and the ONNX runtime scorer (installed as ``fairguard.export``)."""
