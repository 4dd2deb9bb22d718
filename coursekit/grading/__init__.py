"""Graded exercises: one solution notebook is the single source of each exercise.

- `format`: the cell metadata (id, kind, points) and the solution markers.
- `build`: the student notebook (stubs, no hidden tests) and the student release.
- `run`: splice a submission's answers into the source and execute it with nbval.
- `grade`: a class's submissions → the gradebook files (`gradebook`: results.json, gradebook.csv,
  grades_long.csv, canvas.csv) and per-student feedback.
- `mutants`: grade slips of a solution as the verification run does (the tests' strength, proved).
- `checks`: assertions with helpful messages for the tests in exercise notebooks.
- `cli`: the `coursekit build | release | grade | export | check` commands.
"""
