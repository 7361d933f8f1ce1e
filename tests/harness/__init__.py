"""Fault-injection helpers run as child processes by the crash-recovery tests."""
