"""Dense optical flow: the methods behind one interface (`methods`), the paper's Brox et al.
solver on the CPU (`brox`) and on arrays for a GPU (`brox_batch`), and Middlebury's `.flo`
files, end-point error and colour code (`middlebury`)."""
from __future__ import annotations

from data_prep.flow.methods import (CPU_METHODS, METHODS, cuda_available, flow_method,
                                    to_gray)
