"""Köprü under Airflow, in three rooms:

- `dags`: what the DAG files declare (default arguments, assets, the ingest DAG factory). DAG files stay thin.
- `tasks`: the task bodies, what each DAG task does; the CLI calls the same functions.
- `local_runs`: running DAGs on this machine through `dag.test()` (`kopru run`, the demo, the tests), and the
  environment that points Airflow at this checkout. Airflow's internals are handled there and only there.
- `standalone`: `make airflow`, the scheduler and UI on 127.0.0.1.
"""
