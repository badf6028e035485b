//! The scripted working day.
