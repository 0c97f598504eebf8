"""``herdref grade``: a class's herds graded by ``herdref validate``, one subprocess each."""
