"""Exercise checkers, one module per lesson: `lesson_03.py` holds the checkers for exercises 3.x.

`labs.check("3.1", answer)` imports `labs.exercises.lesson_03` on first use and runs the function
registered for "3.1". A lesson module reads like this:

    from labs.checks import Case, exercise

    @exercise("3.1")
    def accumulate_tool_calls(accumulate):
        chunks = [...]
        yield Case("one call split over two chunks", lambda: accumulate(chunks),
                   expected=[...], hint="join the argument fragments of each tc.index")

Each case's `run` calls the learner's code; `expected` is compared with `==`, or `verify` asserts on
the result with a message that says what is wrong.
"""

__all__: list[str] = []
