"""Conformance: published test vectors, and a runner that checks any implementation.

* ``test-vectors/`` holds the vectors (JSON, Wycheproof's envelope) and their
  JSON Schemas; :mod:`parley.conformance.generate` makes them from seeds.
* :mod:`parley.conformance.runner` runs them against a *driver*: the reference
  in-process (:class:`~parley.conformance.drivers.DirectDriver`), or any
  implementation that serves ``parley.driver.v1.DriverService`` over gRPC
  (:class:`~parley.conformance.drivers.GrpcDriver`).
* :mod:`parley.conformance.driver` serves the reference implementation.
* :mod:`parley.conformance.mutants` checks that the vectors catch deliberately
  wrong variants of the reference.

Run ``python -m parley.conformance --help``.
"""
