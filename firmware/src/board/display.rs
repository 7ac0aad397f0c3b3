//! The display: QEMU 10 leaves mps2-an386's VGA region unimplemented (`info qtree`), so the
//! kiosk's screens are defmt log lines.

use crate::display::{Display, Screen};

/// The display: screens as defmt log lines.
pub struct LogDisplay;

impl Display for LogDisplay {
    fn show(&mut self, screen: Screen<'_>) {
        match screen {
            Screen::Welcome => defmt::info!("screen: welcome"),
            Screen::Question { index, question, page, pages } => {
                defmt::info!(
                    "screen: {=str} ({=usize}) page {=u8}/{=u8}: {=str}",
                    question.id,
                    index,
                    page + 1,
                    pages,
                    question.text
                );
            }
            Screen::Thanks => defmt::info!("screen: thank you"),
            Screen::Rejected => defmt::warn!("screen: too fast, not counted as a response"),
            Screen::TimedOut => defmt::info!("screen: timed out, response discarded"),
            Screen::Exported(n) => defmt::info!("screen: export {=u32} written", n),
            Screen::StorageFailed => defmt::error!("screen: storage failed, call staff"),
            Screen::NotProvisioned => defmt::error!("screen: no key, this kiosk cannot export; call staff"),
        }
    }
}
