//! How a local attempt ended, judged from its error document and exit status (contract §4.6).
//! Pure: the caller reads the files. Whether it is retried is `aerie_core::spec`'s rule.

use aerie_core::{ErrorInfo, ErrorKind, Verdict};
use aerie_wire::flyteidl2::core::ErrorDocument;
use aerie_wire::flyteidl2::core::container_error::Kind as Recoverability;
use aerie_wire::flyteidl2::core::execution_error::ErrorKind as Origin;
use buffa::Message;

/// How the process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessExit {
    Code(i32),
    Signal(i32),
}

impl std::fmt::Display for ProcessExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Code(code) => write!(f, "exited with status {code}"),
            Self::Signal(signal) => write!(
                f,
                "was killed by signal {signal} ({})",
                signal_name(*signal)
            ),
        }
    }
}

impl ProcessExit {
    /// From a finished process's status.
    pub fn from_status(status: std::process::ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => Self::Code(code),
            (None, Some(signal)) => Self::Signal(signal),
            (None, None) => Self::Code(-1),
        }
    }
}

/// Judges an attempt: an error document wins whatever the exit code; otherwise exit 0 is
/// success and anything else a SYSTEM failure that says what happened.
pub fn judge(error_document: Option<&[u8]>, exit: ProcessExit) -> Verdict {
    if let Some(bytes) = error_document {
        return Verdict::Failed(error_from_document(bytes));
    }
    match exit {
        ProcessExit::Code(0) => Verdict::Succeeded,
        ProcessExit::Code(code) => Verdict::Failed(ErrorInfo {
            message: format!(
                "the task process exited with status {code} without writing an error document \
                 (it may have crashed before the task started; see the attempt's logs)"
            ),
            kind: ErrorKind::System,
            code: "NonZeroExit".into(),
            recoverable: true,
        }),
        ProcessExit::Signal(signal) => Verdict::Failed(ErrorInfo {
            message: format!(
                "the task process was killed by signal {signal} ({})",
                signal_name(signal)
            ),
            kind: ErrorKind::System,
            code: "Signaled".into(),
            recoverable: true,
        }),
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGKILL => "SIGKILL, possibly out of memory",
        libc::SIGTERM => "SIGTERM",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGINT => "SIGINT",
        _ => "see signal(7)",
    }
}

/// The error an `error.pb` describes; an unreadable document is itself a SYSTEM error.
pub fn error_from_document(bytes: &[u8]) -> ErrorInfo {
    match ErrorDocument::decode_from_slice(bytes) {
        Ok(document) => {
            let error = &*document.error;
            ErrorInfo {
                message: error.message.clone(),
                kind: match error.origin.as_known() {
                    Some(Origin::USER) => ErrorKind::User,
                    _ => ErrorKind::System,
                },
                code: error.code.clone(),
                recoverable: error.kind.as_known() == Some(Recoverability::RECOVERABLE),
            }
        }
        Err(err) => ErrorInfo {
            message: format!("the task wrote an unreadable error document: {err}"),
            kind: ErrorKind::System,
            code: "BadErrorDocument".into(),
            recoverable: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aerie_wire::flyteidl2::core::ContainerError;

    fn document(origin: Origin, kind: Recoverability) -> Vec<u8> {
        ErrorDocument {
            error: ContainerError {
                code: "ValueError".into(),
                message: "bad input".into(),
                kind: kind.into(),
                origin: origin.into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        }
        .encode_to_vec()
    }

    #[test]
    fn an_error_document_wins_even_with_exit_zero() {
        let bytes = document(Origin::USER, Recoverability::NON_RECOVERABLE);
        let Verdict::Failed(error) = judge(Some(&bytes), ProcessExit::Code(0)) else {
            panic!("expected failure");
        };
        assert_eq!(error.message, "bad input");
        assert_eq!(error.code, "ValueError");
        assert_eq!(error.kind, ErrorKind::User);
        assert!(!error.recoverable);
    }

    #[test]
    fn system_origin_and_recoverable_kind_are_kept() {
        let bytes = document(Origin::SYSTEM, Recoverability::RECOVERABLE);
        let error = error_from_document(&bytes);
        assert_eq!(error.kind, ErrorKind::System);
        assert!(error.recoverable);
    }

    #[test]
    fn exit_zero_without_document_succeeds() {
        assert_eq!(judge(None, ProcessExit::Code(0)), Verdict::Succeeded);
    }

    #[test]
    fn crashes_and_signals_are_system_errors_that_say_what_happened() {
        let Verdict::Failed(crash) = judge(None, ProcessExit::Code(3)) else {
            panic!()
        };
        assert_eq!(crash.kind, ErrorKind::System);
        assert_eq!(crash.code, "NonZeroExit");
        assert!(crash.message.contains("status 3"));
        let Verdict::Failed(killed) = judge(None, ProcessExit::Signal(9)) else {
            panic!()
        };
        assert!(killed.message.contains("signal 9"));
    }

    #[test]
    fn garbage_documents_are_system_errors() {
        let error = error_from_document(&[0xff, 0xff, 0xff]);
        assert_eq!(error.code, "BadErrorDocument");
        assert_eq!(error.kind, ErrorKind::System);
    }
}
