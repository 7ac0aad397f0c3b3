//! Kiosk firmware: a skeleton until the firmware issue lands (see docs/design.md).
#![no_std]
