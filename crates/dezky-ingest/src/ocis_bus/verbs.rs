//! Which audit verb each bus event type becomes.

use crate::verb::normalise;
use serde_json::{Map, Value};

/// The event type without its Go package (`events.FileUploaded` → `FileUploaded`).
pub fn short_type(event_type: &str) -> &str {
    event_type.rsplit('.').next().unwrap_or(event_type).trim()
}

/// The audit verb for an event type, as oCIS's own audit service names the action it writes
/// for that event (`services/audit/pkg/types/conversion.go`), so the bus and the file agree:
///
/// | event type | verb |
/// |---|---|
/// | `ShareCreated`, `LinkCreated` | `file_shared` |
/// | `ShareUpdated`, `LinkUpdated` | by the field updated: `share_permission_updated`, `share_name_updated`, `share_password_updated`, `share_expiration_updated`; otherwise `share_updated` |
/// | `ShareRemoved`, `LinkRemoved` | `file_unshared` |
/// | `ReceivedShareUpdated` | `share_accepted` / `share_declined` by `State`; otherwise `share_state_changed` |
/// | `LinkAccessed`, `LinkAccessFailed` | `public_link_accessed` (the latter with outcome `failure`) |
/// | `ContainerCreated` | `container_create` |
/// | `FileUploaded` | `file_create` |
/// | `FileDownloaded` | `file_read` |
/// | `ItemMoved` | `file_rename` |
/// | `ItemTrashed` | `file_delete` |
/// | `ItemPurged` | `file_trash_delete` |
/// | `ItemRestored` | `file_trash_restore` |
/// | `FileVersionRestored` | `file_version_restore` |
/// | `TagsAdded`, `TagsRemoved` | `file_tags_add`, `file_tags_remove` |
/// | `SpaceCreated` … `SpaceUpdated` | `space_created`, `space_renamed`, `space_disabled`, `space_enabled`, `space_deleted`, `space_shared`, `space_unshared`, `space_updated` |
/// | `UserCreated`, `UserDeleted`, `UserFeatureChanged` | `user_created`, `user_deleted`, `user_feature_changed` |
/// | `GroupCreated`, `GroupDeleted`, `GroupMemberAdded`, `GroupMemberRemoved` | `group_created`, `group_deleted`, `group_member_added`, `group_member_removed` |
/// | anything else (`UserSignedIn`, `BackchannelLogout`, `FileTouched`, …) | the type in snake case: `user_signed_in`, `backchannel_logout`, `file_touched` |
pub fn verb_of(event_type: &str, payload: &Map<String, Value>) -> String {
    let short = short_type(event_type);
    let fixed = match short {
        "ShareCreated" | "LinkCreated" => "file_shared",
        "ShareUpdated" => return share_update_verb(payload.get("Updated")),
        "LinkUpdated" => return share_update_verb(payload.get("FieldUpdated")),
        "ShareRemoved" | "LinkRemoved" => "file_unshared",
        "ReceivedShareUpdated" => match payload.get("State").and_then(Value::as_str) {
            Some("SHARE_STATE_ACCEPTED") => "share_accepted",
            Some("SHARE_STATE_DECLINED") => "share_declined",
            _ => "share_state_changed",
        },
        "LinkAccessed" | "LinkAccessFailed" => "public_link_accessed",
        "ContainerCreated" => "container_create",
        "FileUploaded" => "file_create",
        "FileDownloaded" => "file_read",
        "ItemMoved" => "file_rename",
        "ItemTrashed" => "file_delete",
        "ItemPurged" => "file_trash_delete",
        "ItemRestored" => "file_trash_restore",
        "FileVersionRestored" => "file_version_restore",
        "TagsAdded" => "file_tags_add",
        "TagsRemoved" => "file_tags_remove",
        "SpaceCreated" => "space_created",
        "SpaceRenamed" => "space_renamed",
        "SpaceDisabled" => "space_disabled",
        "SpaceEnabled" => "space_enabled",
        "SpaceDeleted" => "space_deleted",
        "SpaceShared" => "space_shared",
        "SpaceUnshared" => "space_unshared",
        "SpaceUpdated" => "space_updated",
        "UserCreated" => "user_created",
        "UserDeleted" => "user_deleted",
        "UserFeatureChanged" => "user_feature_changed",
        "GroupCreated" => "group_created",
        "GroupDeleted" => "group_deleted",
        "GroupMemberAdded" => "group_member_added",
        "GroupMemberRemoved" => "group_member_removed",
        _ => return normalise(&snake_case(short)),
    };
    fixed.to_owned()
}

fn share_update_verb(field: Option<&Value>) -> String {
    match field.and_then(Value::as_str).unwrap_or_default() {
        "permissions" | "TYPE_PERMISSIONS" => "share_permission_updated",
        "displayname" | "TYPE_DISPLAYNAME" => "share_name_updated",
        "TYPE_PASSWORD" => "share_password_updated",
        "TYPE_EXPIRATION" => "share_expiration_updated",
        _ => "share_updated",
    }
    .to_owned()
}

/// `UserSignedIn` → `user_signed_in`, `OCMCoreShareCreated` → `ocm_core_share_created`.
pub(super) fn snake_case(name: &str) -> String {
    let characters: Vec<char> = name.chars().collect();
    let mut snake = String::with_capacity(name.len() + 8);
    for (index, &character) in characters.iter().enumerate() {
        if character.is_ascii_uppercase() && index > 0 {
            let previous = characters[index - 1];
            let next_is_lower = characters.get(index + 1).is_some_and(char::is_ascii_lowercase);
            if previous.is_ascii_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_ascii_uppercase() && next_is_lower)
            {
                snake.push('_');
            }
        }
        snake.push(character.to_ascii_lowercase());
    }
    snake
}
