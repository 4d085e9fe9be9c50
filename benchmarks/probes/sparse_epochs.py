"""Probe: the L-BFGS epoch budget of the default fit on the gate's sparse tasks (test score as the
gate computes it, the gate's validation score beside it; one thread).

    OMP_NUM_THREADS=1 python benchmarks/probes/sparse_epochs.py TASKS EPOCHS SEEDS >> sparse_epochs.log

Each line: task, epochs, seed, fit seconds, test %, validation %.
"""

import sys
import time
import warnings

from corrnet import CorrNet
from corrnet.experiments import quality

warnings.simplefilter("ignore")
for name in sys.argv[1].split(","):
    task = quality.TASKS[name]
    v = task.load(None)
    for epochs in [int(e) for e in sys.argv[2].split(",")]:
        for seed in [int(s) for s in sys.argv[3].split(",")]:
            t0 = time.perf_counter()
            est = CorrNet(task.k, random_state=seed, epochs=epochs).fit(*v.train)
            fit_s = time.perf_counter() - t0
            test, val = quality.score(task, est, v), quality._validation_score(task, est, v)
            print(name, epochs, seed, round(fit_s, 1), round(100 * test, 1), round(100 * val, 1), flush=True)
