"""The clock that training time is read from.

Training time decides where ``--time-limit`` stops a run and how far a
time-stretched learning-rate schedule has got. The trainers read it as
``clock.now()`` at every use, so that a test can replace ``now`` with a
clock that advances by a fixed amount per reading: the run then stops at
the same step on every machine, however fast.
"""

import time

now = time.perf_counter
