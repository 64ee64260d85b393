"""Ketacare: a clinical platform for ketamine treatment programs in treatment-resistant anxiety disorders."""

__version__ = "0.1.0"
