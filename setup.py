"""The compiled parts: the Avro codec's executor (runtime/_avro_native.pyx), which reads and
writes every record, and the Talkwalker transcoder (connectors/talkwalker/_results_native.pyx),
which turns CT_RESULT chunks into Avro bodies.

Both are optional: where no C compiler is found the install still succeeds, the codec runs as
generated Python (`socialstream.runtime.avro_reader` and `avro_writer` choose at import) and the
Talkwalker source builds records in Python (`connectors/talkwalker/fast_results.py`).
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [
            Extension(
                "socialstream.runtime._avro_native",
                ["src/socialstream/runtime/_avro_native.pyx"],
                optional=True,
            ),
            Extension(
                "socialstream.connectors.talkwalker._results_native",
                ["src/socialstream/connectors/talkwalker/_results_native.pyx"],
                optional=True,
            ),
        ],
        compiler_directives={"language_level": "3"},
    )
)
