"""The PyTorch baseline of bench/gpu/check.sh: ResNet-18 (torchvision's when it is installed,
else the same architecture written here), float32 with TF32 off, on SETS batches of BATCH
images 224x224 that start and end in host memory (host-to-device and device-to-host copies
included, as modelci's figures include them). Prints the steady-state time of all the batches
(best of 3 passes, after one warm-up pass) and the warm-up pass apart.

    python3 torch_resnet18.py [SETS [BATCH]]     (default 32 16: 512 images)"""
import sys
import time

import torch
from torch import nn


def resnet18():
    try:
        import torchvision
        return torchvision.models.resnet18(weights=None)
    except ImportError:
        pass

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.a = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                                   nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                                   nn.BatchNorm2d(cout))
            self.down = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                         if stride != 1 or cin != cout else nn.Identity())

        def forward(self, x):
            return torch.relu(self.a(x) + self.down(x))

    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
              nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for stage, cout in enumerate([64, 128, 256, 512]):
        for block in range(2):
            layers.append(Block(cin, cout, 2 if stage > 0 and block == 0 else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000)]
    return nn.Sequential(*layers)


def main():
    sets = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    device = torch.device("cuda")
    model = resnet18().eval().to(device)
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randn(batch, 3, 224, 224, generator=g) for _ in range(sets)]

    def one_pass():
        outs = []
        with torch.inference_mode():
            for x in inputs:
                outs.append(model(x.to(device)).cpu())
        torch.cuda.synchronize()
        return outs

    start = time.perf_counter()
    one_pass()
    warm = time.perf_counter() - start
    best = None
    for _ in range(3):
        start = time.perf_counter()
        one_pass()
        t = time.perf_counter() - start
        best = t if best is None or t < best else best
    print(f"pytorch: {torch.__version__}, {torch.cuda.get_device_name(0)}")
    print(f"warm-up pass: {warm:.3f} s")
    print(f"compute: {best:.3f} s ({sets} x {batch} images, fp32, TF32 off, host copies included)")


if __name__ == "__main__":
    main()
