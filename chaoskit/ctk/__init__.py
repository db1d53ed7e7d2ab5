"""Chaos Toolkit (CTK) experiments, run unchanged with CTK's own rules.

A CTK file (``version: 1.0.0``, ``steady-state-hypothesis``, activities with ``type`` and ``provider``) is
recognised by its shape (:mod:`chaoskit.ctk.detect`), validated into a strict model (:mod:`.model`,
:mod:`.load`), and run by :mod:`.engine`, which keeps CTK's sequencing instead of bending the native runner:

* the hypothesis before the method stops at the first probe that fails or misses its tolerance; when it is not
  met the method is skipped (CTK's status stays ``completed`` unless a probe *failed*: then ``failed``);
* a method activity that fails is recorded and the method goes on;
* the hypothesis after the method is checked before the rollbacks and sets ``deviated``;
* rollbacks follow the rollback strategy (``default``: not after ``failed`` or ``interrupted``; ``always``,
  ``never``, ``deviated``); hypothesis strategies ``default``, ``before-method-only``, ``after-method-only``,
  ``during-method-only``, ``continuously`` (every ``--hypothesis-frequency`` seconds, ``--fail-fast``);
* the verdict is CTK's: journal ``status``/``deviated`` and exit code 0 (completed, not deviated) or 1.

Providers (:mod:`.providers`) are CTK's ``python``, ``process`` and ``http`` with CTK's result shapes;
tolerances (:mod:`.tolerance`) follow CTK's dispatch exactly. Calls into the ``chaosk8s`` and ``chaostoxi``
extensions are mapped to chaoskit plugins (:mod:`.extensions`); faults injected that way go through chaoskit's
revert ledger, so they are reverted on every path out, signals included. Importing this package starts nothing.
"""
