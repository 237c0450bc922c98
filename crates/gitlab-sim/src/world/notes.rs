//! Comments and award emoji on merge requests.

use super::*;

/// An award emoji.
#[derive(Debug, Clone)]
pub struct Award {
    /// Id.
    pub id: u64,
    /// Emoji name (`thumbsup`).
    pub name: String,
    /// Who awarded it.
    pub user_id: UserId,
    /// When (ms).
    pub created_at: i64,
}

/// A comment on a merge request.
#[derive(Debug, Clone)]
pub struct Note {
    /// Id (global).
    pub id: u64,
    /// Markdown body.
    pub body: String,
    /// Author.
    pub author_id: UserId,
    /// Created (ms).
    pub created_at: i64,
    /// Updated (ms).
    pub updated_at: i64,
    /// A system note.
    pub system: bool,
    /// An internal note (`internal`, formerly `confidential`).
    pub internal: bool,
    /// Award emoji on the note.
    pub awards: Vec<Award>,
}

impl World {
    /// Adds a comment to an MR; emits a Note Hook. Returns the note id.
    pub fn add_note(
        &mut self,
        project: ProjectId,
        iid: u64,
        author: UserId,
        body: &str,
    ) -> Result<u64, WorldError> {
        self.push_note(project, iid, author, body, false)
    }

    /// Adds an internal note (visible to members with Reporter or more); emits a
    /// `Confidential Note Hook`. Returns the note id.
    pub fn add_internal_note(
        &mut self,
        project: ProjectId,
        iid: u64,
        author: UserId,
        body: &str,
    ) -> Result<u64, WorldError> {
        self.push_note(project, iid, author, body, true)
    }

    pub(super) fn push_note(
        &mut self,
        project: ProjectId,
        iid: u64,
        author: UserId,
        body: &str,
        internal: bool,
    ) -> Result<u64, WorldError> {
        let now = self.now();
        let id = self.id();
        self.mr_mut(project, iid)?.notes.push(Note {
            id,
            body: body.to_string(),
            author_id: author,
            created_at: now,
            updated_at: now,
            system: false,
            internal,
            awards: Vec::new(),
        });
        self.project_mut(project)?.last_activity_at = now;
        self.emit_note(project, iid, id, author, "create");
        Ok(id)
    }

    /// Edits a note's body; emits a Note Hook with action `update` when the text changed. As
    /// `app/services/notes/update_service.rb` (`execute_note_webhook`) builds it, the hook's
    /// `user` is the note's author, whoever edited it.
    pub fn edit_note(
        &mut self,
        project: ProjectId,
        iid: u64,
        note: u64,
        _editor: UserId,
        body: &str,
    ) -> Result<(), WorldError> {
        let now = self.now();
        let n = self
            .mr_mut(project, iid)?
            .notes
            .iter_mut()
            .find(|n| n.id == note)
            .ok_or(WorldError::NoteNotFound)?;
        if n.body == body {
            return Ok(());
        }
        n.body = body.to_string();
        n.updated_at = now;
        let author = n.author_id;
        self.emit_note(project, iid, note, author, "update");
        Ok(())
    }

    /// Awards an emoji to an MR or, with `note`, to one of its notes. Returns the award id.
    pub fn award(
        &mut self,
        project: ProjectId,
        iid: u64,
        note: Option<u64>,
        user: UserId,
        name: &str,
    ) -> Result<u64, WorldError> {
        let now = self.now();
        let id = self.id();
        let m = self.mr_mut(project, iid)?;
        let list = match note {
            Some(n) => {
                &mut m
                    .notes
                    .iter_mut()
                    .find(|x| x.id == n)
                    .ok_or(WorldError::NoteNotFound)?
                    .awards
            }
            None => &mut m.awards,
        };
        if list.iter().any(|a| a.user_id == user && a.name == name) {
            return Err(WorldError::Invalid(
                "Award Emoji Name has already been taken".into(),
            ));
        }
        list.push(Award {
            id,
            name: name.to_string(),
            user_id: user,
            created_at: now,
        });
        Ok(id)
    }
}
