"""The one compiled part: the Avro codec's executor (runtime/_avro_native.pyx), which reads and
writes every record.

It is optional: where no C compiler is found the install still succeeds and the codec runs as
generated Python (`socialstream.runtime.avro_reader` and `avro_writer` choose at import).
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
            )
        ],
        compiler_directives={"language_level": "3"},
    )
)
