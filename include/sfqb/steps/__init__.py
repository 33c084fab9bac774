"""The I/O steps each task runs (extract, load, commit), as plain functions of hooks and state.

``sfqb.tasks`` wraps them as Airflow tasks; tests and the benchmark call them directly with
hooks pointed at the sandbox. The rules themselves stay in ``sfqb.areas`` (pure).
"""
