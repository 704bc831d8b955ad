//! The open-file limit: every socket is a descriptor, and a crowd of
//! 100,000 sockets needs that many (a shell's soft limit is often 1,024).

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Raises the soft limit on open files to `need` if it is lower: up to the
/// hard limit for anyone, beyond it for root (up to `fs.nr_open`). Returns
/// the limit in force afterwards, which may still be below `need`.
pub fn raise_open_files(need: u64) -> u64 {
    let now = getrlimit(Resource::Nofile);
    // None: unlimited.
    let soft = now.current.unwrap_or(u64::MAX);
    if soft >= need {
        return soft;
    }
    let hard = now.maximum.unwrap_or(u64::MAX);
    if need > hard {
        let raised = Rlimit {
            current: Some(need),
            maximum: Some(need),
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            return need;
        }
    }
    let within = Rlimit {
        current: Some(need.min(hard)),
        maximum: now.maximum,
    };
    match setrlimit(Resource::Nofile, within) {
        Ok(()) => need.min(hard),
        Err(_) => soft,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_already_high_enough_is_left_alone() {
        let before = getrlimit(Resource::Nofile);
        assert_eq!(raise_open_files(16), before.current.unwrap_or(u64::MAX));
        assert_eq!(getrlimit(Resource::Nofile), before);
    }
}
