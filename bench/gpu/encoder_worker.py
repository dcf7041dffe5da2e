"""A batch-friendly PyTorch model for the dynamic-batching benchmark: a 12-layer transformer
encoder (BERT-base shape: d=768, 12 heads, ff 3072), fp16 on a GPU, over SEQ token ids per input.

One input: {"ids": [SEQ ints]}; one output: {"label": int, "score": float}. A batch of 1 is
bound by kernel launches; a batch of 64 costs little more, which is what dynamic batching
turns into throughput.
Env: LAYERS (default 12), SEQ (default 64).
"""
import os

import gpupool

LAYERS = int(os.environ.get("LAYERS", "12"))
SEQ = int(os.environ.get("SEQ", "64"))


class Encoder(gpupool.Worker):
    def setup(self, device):
        import torch

        torch.manual_seed(0)
        self.torch = torch
        self.dev = device.torch
        dtype = torch.float16 if self.dev.startswith("cuda") else torch.float32  # fp32 for a CPU smoke test
        layer = torch.nn.TransformerEncoderLayer(d_model=768, nhead=12, dim_feedforward=3072, batch_first=True)
        self.embed = torch.nn.Embedding(30522, 768).to(self.dev, dtype).eval()
        self.encoder = torch.nn.TransformerEncoder(layer, num_layers=LAYERS, enable_nested_tensor=False).to(self.dev, dtype).eval()
        self.head = torch.nn.Linear(768, 2).to(self.dev, dtype).eval()
        # Warm up every shape class once, so the first requests do not pay for lazy init.
        for n in (1, 8, 64):
            self.predict([{"ids": list(range(SEQ))}] * n)

    def predict(self, batch):
        torch = self.torch
        with torch.inference_mode():
            ids = torch.tensor([item["ids"] for item in batch], device=self.dev)
            logits = self.head(self.encoder(self.embed(ids)).mean(dim=1)).float().softmax(dim=1)
            score, label = logits.max(dim=1)
            return [{"label": l, "score": round(s, 4)} for l, s in zip(label.tolist(), score.tolist())]


if __name__ == "__main__":
    gpupool.serve(Encoder)
