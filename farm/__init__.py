"""Scale-out on Dask: design-space exploration, the random regression farm and the area
estimator (``docs/explore.md``).

* :mod:`.spec`: the ``accelgen explore`` SPEC (JSON / TOML), checked before any worker starts;
* :mod:`.evaluate`: one design point (cycle model, energy, estimated area) and the RTL spot check;
* :mod:`.area`: the analytic area model per core, fitted to Yosys runs (:mod:`.synth`);
* :mod:`.pareto`: the Pareto front, its plot and report;
* :mod:`.regress`: random configs x random layers on the RTL, shrinking of failures;
* :mod:`.cluster`: the Dask client (LocalCluster or ``--scheduler``) and the task loop;
* :mod:`.keys`: result keys (config, workload, tool versions) that make sweeps resumable.

The functions that run on workers are plain functions of picklable arguments that return a
result dict and never raise for a tool failure; the command line (``accelgen.explore``,
``accelgen.regress``) records the results and writes the outputs.
"""
