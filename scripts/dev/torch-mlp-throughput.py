#!/usr/bin/python3
# Development fixture, not part of the product or of `npm test`: PyTorch's training throughput on the
# model and batch of `npm run bench -- train`'s throughput section, to compare edgefit with it.
# MLP 784-512-512-10, batch 64, Adam (AdamW with weight decay 0), lr 1e-3, softmax cross-entropy, one
# thread; 3200 samples shuffled each epoch, two epochs per round, the second timed (wall and this
# process's CPU time), 5 rounds. Inputs are uniform in [0, 1), like MNIST pixels: throughput does not
# depend on their values. Needs Debian's python3-torch (1.13) and, for a fair BLAS, libopenblas0-pthread.
#   OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=1000000000 \
#     /usr/bin/python3 scripts/dev/torch-mlp-throughput.py [rounds]
# (Without the fixed malloc thresholds, glibc maps and unmaps PyTorch's per-step tensors now and then, and
# a run swings between about 4,000 and 14,000 samples/s.) `EDGEFIT_BENCH_TRAIN=torch npm run bench -- train`
# runs it beside edgefit, a round of each in turn.
import json, os, sys, time
import torch

torch.set_num_threads(1)
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
n, batch = 3200, 64
g = torch.Generator().manual_seed(0)
x = torch.rand(n, 784, generator=g)
y = torch.randint(0, 10, (n,), generator=g)
wall, cpu = [], []
for k in range(rounds):
    torch.manual_seed(k)
    model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0)
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(2):
        t0, c0 = time.perf_counter(), time.process_time()
        order = torch.randperm(n)
        for first in range(0, n, batch):
            idx = order[first:first + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        w, c = time.perf_counter() - t0, time.process_time() - c0
    wall.append(n / w)
    cpu.append(n / c)
    print(f'round {k + 1}: {wall[-1]:.0f} samples/s wall, {cpu[-1]:.0f} per CPU-second', file=sys.stderr)
med = lambda v: sorted(v)[len(v) // 2]
print(json.dumps({
    'torch': torch.__version__,
    'blas': os.path.realpath('/usr/lib/x86_64-linux-gnu/libblas.so.3'),
    'threads': torch.get_num_threads(),
    'model': 'mlp:784-512-512-10', 'batch': batch, 'samples': n,
    'optimizer': 'AdamW weight decay 0, lr 1e-3',
    'timed': 'second epoch of two, per round',
    'wallSamplesPerSecond': wall, 'cpuSamplesPerSecond': cpu, 'medianWall': med(wall), 'medianCpu': med(cpu),
}))
