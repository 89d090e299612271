"""socialstream: social-listening data into Apache Kafka and back out again.

The sub-packages are the repository's top-level directories: ``runtime`` (what every component
shares), ``connectors``, ``processors``, ``schemas``, ``simulators`` and ``deploy``.
"""

__version__ = "0.1.0"
