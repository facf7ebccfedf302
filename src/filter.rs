//! The client-side filter language (stub; full implementation in progress).

use std::fmt;

use crate::model::request::Request;
use crate::source::HttpMatch;

/// A parsed filter expression.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    text: String,
}

/// Why a filter failed to parse, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// Byte offset in the input.
    pub position: usize,
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at {})", self.message, self.position)
    }
}

impl std::error::Error for FilterError {}

impl Filter {
    pub fn parse(input: &str) -> Result<Filter, FilterError> {
        Ok(Filter {
            text: input.trim().to_owned(),
        })
    }

    pub fn matches(&self, _request: &Request) -> bool {
        true
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub fn split_server_side(&self) -> (HttpMatch, Option<String>, Filter) {
        (HttpMatch::default(), None, self.clone())
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
