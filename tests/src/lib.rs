//! End-to-end tests across the kernel, the host CLI and the firmware.
