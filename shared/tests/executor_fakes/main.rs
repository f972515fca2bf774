//! The executor and responder driven through recording fakes: ordering and failure semantics that
//! are hard to provoke in the emulator.
//!
//! The fakes of the ports (`fakes`, `fake_iam`, `estates`) and the scenarios the tests share
//! (`scenarios`), then the tests by what they drive: the instance scheduler (`instance`), the
//! credential schedulers (`credentials`), instance revocations that scale (`revocation`), the
//! release (`release`), an attack sequence (`sequence`), and the golden responses (`golden`).

mod estates;
mod fake_iam;
mod fakes;
mod scenarios;

mod credentials;
mod golden;
mod instance;
mod release;
mod revocation;
mod sequence;
