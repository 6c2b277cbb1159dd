"""Training side of MuJo Edge: corpus, joint-space pretraining, evaluation, distillation (needs torch).

Installed as ``mujo_edge.training``. The data layer (``mujo_edge.training.data``) and the synthetic corpus
generator need numpy/scipy only; the model code imports torch.
"""
