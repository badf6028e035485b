//! A local fake of the Telegram Bot API for tests and the offline sandbox.
