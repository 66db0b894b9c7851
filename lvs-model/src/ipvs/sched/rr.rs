//! Round robin (`ip_vs_rr.c`): walk on from the last dest chosen, wrapping, to the first one
//! with weight > 0 that is not overloaded. Weights other than 0 are ignored. The walk starts at
//! the list head, so dests added A, B, C give C, B, A, C, B, A, … (E5 (c)).

use super::{DestChange, DestList, usable};
use crate::ipvs::dest::DestId;

#[derive(Clone, Debug, Default)]
pub struct Rr {
    /// The last dest chosen; `None` is the list head (before the first dest).
    last: Option<DestId>,
}

impl Rr {
    pub fn dest_changed(&mut self, change: DestChange) {
        // Only a delete of the remembered dest moves the cursor: to the dest before it.
        if let DestChange::Removed { id, prev } = change
            && self.last == Some(id)
        {
            self.last = prev;
        }
    }

    pub fn schedule(&mut self, list: DestList<'_>) -> Option<DestId> {
        let n = list.ids.len();
        let start = match self.last.and_then(|l| list.position(l)) {
            Some(i) => i + 1,
            None => 0,
        };
        // From the head one pass suffices; from a dest, the walk ends on that dest itself.
        for k in 0..n {
            let id = list.ids[(start + k) % n];
            if usable(list.dests.get(id)) {
                self.last = Some(id);
                return Some(id);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::SchedulerKind;
    use super::super::testutil::Fixture;

    #[test]
    fn e5_rr_abc_starts_at_the_last_added() {
        // E5 (c): A, B, C added in that order; the kernel answered 104 103 102 104 103 102 …
        let mut f = Fixture::build(SchedulerKind::Rr, &[(102, 1), (103, 1), (104, 1)]);
        assert_eq!(f.sequence(9), [104, 103, 102, 104, 103, 102, 104, 103, 102]);
    }

    #[test]
    fn weights_other_than_zero_are_ignored_and_zero_quiesces() {
        let mut f = Fixture::build(SchedulerKind::Rr, &[(102, 5), (103, 0), (104, 1)]);
        assert_eq!(f.sequence(4), [104, 102, 104, 102]);
        f.set_weight(103, 1);
        // The cursor survives an edit: after 102 comes the head again.
        assert_eq!(f.sequence(3), [104, 103, 102]);
    }

    #[test]
    fn deleting_the_current_dest_moves_the_cursor_back() {
        let mut f = Fixture::build(SchedulerKind::Rr, &[(102, 1), (103, 1), (104, 1)]);
        assert_eq!(f.sequence(2), [104, 103]);
        f.remove(103);
        // Cursor moved to 104 (before 103), so 102 is next.
        assert_eq!(f.sequence(3), [102, 104, 102]);
    }

    #[test]
    fn overloaded_or_empty_gives_none() {
        let mut f = Fixture::build(SchedulerKind::Rr, &[]);
        assert_eq!(f.pick(), None);
        f.add(102, 1);
        f.dest(102).overloaded = true;
        assert_eq!(f.pick(), None);
    }
}
