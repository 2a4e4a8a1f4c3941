//! The provider formats, read borrowed from the body.
//!
//! Nothing here builds a `serde_json::Value`: strings without escapes are
//! borrowed, ids are taken as text whether the provider sends them as JSON
//! strings or numbers (Meta does both), and every field the connector does
//! not use is skipped by the parser.

use serde::Deserialize;

pub use leadhost_sdk::json::Text;

/// `Option<Text>` that also takes JSON `null` as absent.
pub type Opt<'a> = Option<Text<'a>>;

// --- Meta: the Webhooks notification -----------------------------------------

/// The body Meta posts to a Page webhook.
#[derive(Debug, Deserialize)]
pub struct MetaNotification<'a> {
    /// The object type subscribed to, `"page"` here.
    #[serde(borrow)]
    pub object: Text<'a>,
    /// One entry per Page (and batch of changes).
    #[serde(borrow)]
    pub entry: Vec<MetaEntry<'a>>,
}

/// One entry: the changes of one Page.
#[derive(Debug, Deserialize)]
pub struct MetaEntry<'a> {
    /// The Page id.
    #[serde(borrow, default)]
    pub id: Opt<'a>,
    /// The changes; absent for messaging entries.
    #[serde(borrow, default)]
    pub changes: Vec<MetaChange<'a>>,
}

/// One change: the field that changed and its value.
#[derive(Debug, Deserialize)]
pub struct MetaChange<'a> {
    /// `"leadgen"`, `"feed"`, ...
    #[serde(borrow)]
    pub field: Text<'a>,
    /// The field's value; its shape depends on `field`.
    #[serde(borrow)]
    pub value: MetaValue<'a>,
}

/// The value of a `leadgen` or `feed` change. Both shapes in one struct,
/// every field optional: the connector checks what each kind needs.
#[derive(Debug, Default, Deserialize)]
#[allow(missing_docs)]
pub struct MetaValue<'a> {
    // leadgen
    #[serde(borrow, default)]
    pub leadgen_id: Opt<'a>,
    #[serde(borrow, default)]
    pub page_id: Opt<'a>,
    #[serde(borrow, default)]
    pub form_id: Opt<'a>,
    #[serde(borrow, default)]
    pub adgroup_id: Opt<'a>,
    #[serde(borrow, default)]
    pub ad_id: Opt<'a>,
    /// Unix seconds on leadgen and feed changes.
    #[serde(borrow, default)]
    pub created_time: Opt<'a>,
    // feed
    #[serde(borrow, default)]
    pub item: Opt<'a>,
    #[serde(borrow, default)]
    pub verb: Opt<'a>,
    #[serde(borrow, default)]
    pub from: Option<MetaActor<'a>>,
    #[serde(borrow, default)]
    pub post_id: Opt<'a>,
    #[serde(borrow, default)]
    pub parent_id: Opt<'a>,
    #[serde(borrow, default)]
    pub comment_id: Opt<'a>,
    #[serde(borrow, default)]
    pub share_id: Opt<'a>,
    #[serde(borrow, default)]
    pub video_id: Opt<'a>,
    #[serde(borrow, default)]
    pub reaction_type: Opt<'a>,
    #[serde(borrow, default)]
    pub message: Opt<'a>,
    #[serde(borrow, default)]
    pub link: Opt<'a>,
}

/// Who acted on a feed change.
#[derive(Debug, Deserialize)]
pub struct MetaActor<'a> {
    /// The person's (app-scoped) id, or the Page's.
    #[serde(borrow, default)]
    pub id: Opt<'a>,
    /// Their display name.
    #[serde(borrow, default)]
    pub name: Opt<'a>,
}

// --- Meta: the Graph API lead ---------------------------------------------------

/// `GET /{version}/{leadgen_id}`: one lead with its answers.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct GraphLead<'a> {
    #[serde(borrow, default)]
    pub id: Opt<'a>,
    /// `2024-05-01T12:30:00+0000`.
    #[serde(borrow, default)]
    pub created_time: Opt<'a>,
    #[serde(borrow, default)]
    pub ad_id: Opt<'a>,
    #[serde(borrow, default)]
    pub adset_id: Opt<'a>,
    #[serde(borrow, default)]
    pub campaign_id: Opt<'a>,
    #[serde(borrow, default)]
    pub campaign_name: Opt<'a>,
    #[serde(borrow, default)]
    pub form_id: Opt<'a>,
    #[serde(borrow, default)]
    pub platform: Opt<'a>,
    #[serde(default)]
    pub is_organic: Option<bool>,
    #[serde(borrow, default)]
    pub field_data: Vec<GraphField<'a>>,
}

/// One answer of a lead form.
#[derive(Debug, Deserialize)]
pub struct GraphField<'a> {
    /// The field's name: `email`, `full_name`, or a custom question's key.
    #[serde(borrow)]
    pub name: Text<'a>,
    /// The answers (several for multiple-choice questions).
    #[serde(borrow, default)]
    pub values: Vec<Text<'a>>,
}

// --- LinkedIn: Lead Sync ----------------------------------------------------------

/// `GET /rest/leadFormResponses?q=owner...`: one page of leads.
#[derive(Debug, Deserialize)]
pub struct LeadPage<'a> {
    /// The leads.
    #[serde(borrow, default)]
    pub elements: Vec<LeadFormResponse<'a>>,
    /// Where this page is.
    #[serde(default)]
    pub paging: Option<Paging>,
}

/// Rest.li paging.
#[derive(Debug, Deserialize)]
pub struct Paging {
    /// The offset of this page.
    #[serde(default)]
    pub start: Option<u64>,
    /// The page size asked for.
    #[serde(default)]
    pub count: Option<u64>,
    /// How many there are in all, when LinkedIn says.
    #[serde(default)]
    pub total: Option<u64>,
}

/// One lead (form response).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct LeadFormResponse<'a> {
    #[serde(borrow)]
    pub id: Text<'a>,
    /// Epoch milliseconds.
    #[serde(default)]
    pub submitted_at: Option<i64>,
    #[serde(borrow, default)]
    pub lead_type: Opt<'a>,
    #[serde(borrow, default)]
    pub versioned_lead_gen_form_urn: Opt<'a>,
    #[serde(borrow, default)]
    pub submitter: Opt<'a>,
    #[serde(default)]
    pub test_lead: Option<bool>,
    #[serde(borrow, default)]
    pub owner: Option<Owner<'a>>,
    #[serde(borrow, default)]
    pub lead_metadata: Option<LeadMetadata<'a>>,
    #[serde(borrow, default)]
    pub associated_entity: Option<AssociatedEntity<'a>>,
    #[serde(borrow, default)]
    pub form_response: Option<FormResponse<'a>>,
    /// Present when the request projects `form:(...)`.
    #[serde(borrow, default)]
    pub form: Option<LeadForm<'a>>,
}

/// Who owns a form: a sponsored account or an organization.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Owner<'a> {
    #[serde(borrow, default)]
    pub sponsored_account: Opt<'a>,
    #[serde(borrow, default)]
    pub organization: Opt<'a>,
}

impl Owner<'_> {
    /// The owner's URN, whichever kind it is.
    pub fn urn(&self) -> Option<&str> {
        self.sponsored_account
            .as_ref()
            .or(self.organization.as_ref())
            .and_then(Text::non_empty)
    }
}

/// Where a sponsored lead came from.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct LeadMetadata<'a> {
    #[serde(borrow, default)]
    pub sponsored_lead_metadata: Option<SponsoredLeadMetadata<'a>>,
}

/// The campaign of a sponsored lead.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct SponsoredLeadMetadata<'a> {
    #[serde(borrow, default)]
    pub campaign: Opt<'a>,
}

/// The creative or event a lead is associated with.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct AssociatedEntity<'a> {
    #[serde(borrow, default)]
    pub associated_creative: Opt<'a>,
    #[serde(borrow, default)]
    pub event: Opt<'a>,
}

/// The answers and consents of one lead.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct FormResponse<'a> {
    #[serde(borrow, default)]
    pub answers: Vec<Answer<'a>>,
    #[serde(default)]
    pub consent_responses: Vec<ConsentResponse>,
}

/// One answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Answer<'a> {
    #[serde(borrow)]
    pub question_id: Text<'a>,
    #[serde(borrow, default)]
    pub answer_details: Option<AnswerDetails<'a>>,
}

/// The answer itself: free text or chosen options.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct AnswerDetails<'a> {
    #[serde(borrow, default)]
    pub text_question_answer: Option<TextAnswer<'a>>,
    #[serde(borrow, default)]
    pub multiple_choice_answer: Option<ChoiceAnswer<'a>>,
}

/// A free-text answer.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct TextAnswer<'a> {
    #[serde(borrow, default)]
    pub answer: Opt<'a>,
}

/// The chosen option ids of a multiple-choice question.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct ChoiceAnswer<'a> {
    #[serde(borrow, default)]
    pub options: Vec<Text<'a>>,
}

/// A consent checkbox and whether it was ticked.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct ConsentResponse {
    #[serde(default)]
    pub accepted: bool,
    #[serde(default)]
    pub consent_id: Option<i64>,
}

/// The form, projected into a lead: its questions tell what each answer is.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct LeadForm<'a> {
    #[serde(borrow, default)]
    pub name: Opt<'a>,
    #[serde(borrow, default)]
    pub hidden_fields: Vec<HiddenField<'a>>,
    #[serde(borrow, default)]
    pub content: Option<FormContent<'a>>,
}

/// A hidden field the advertiser set on the form (tracking parameters).
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct HiddenField<'a> {
    #[serde(borrow)]
    pub name: Text<'a>,
    #[serde(borrow, default)]
    pub value: Opt<'a>,
}

/// The questions of a form.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct FormContent<'a> {
    #[serde(borrow, default)]
    pub questions: Vec<Question<'a>>,
}

/// One question.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Question<'a> {
    #[serde(borrow)]
    pub question_id: Text<'a>,
    #[serde(borrow, default)]
    pub name: Opt<'a>,
    /// `EMAIL`, `FIRST_NAME`, ... for LinkedIn's standard questions.
    #[serde(borrow, default)]
    pub predefined_field: Opt<'a>,
}

// --- LinkedIn: webhook notifications ----------------------------------------------

/// A LinkedIn webhook body: a Lead Sync `LEAD_ACTION` notification, or a
/// batch of `ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct LinkedInNotification<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Text<'a>,
    // LEAD_ACTION
    #[serde(borrow, default)]
    pub lead_gen_form_response: Opt<'a>,
    #[serde(borrow, default)]
    pub lead_action: Opt<'a>,
    #[serde(default)]
    pub occurred_at: Option<i64>,
    // ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS
    #[serde(borrow, default)]
    pub notifications: Vec<SocialAction<'a>>,
}

/// One organization social action notification.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct SocialAction<'a> {
    #[serde(borrow)]
    pub notification_id: Text<'a>,
    #[serde(borrow, default)]
    pub action: Opt<'a>,
    #[serde(borrow, default)]
    pub organizational_entity: Opt<'a>,
    #[serde(borrow, default)]
    pub source_post: Opt<'a>,
    #[serde(borrow, default)]
    pub generated_activity: Opt<'a>,
    #[serde(default)]
    pub last_modified_at: Option<i64>,
    #[serde(borrow, default)]
    pub decorated_generated_activity: Option<DecoratedActivity<'a>>,
}

/// The comment or share an action created, with who made it.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct DecoratedActivity<'a> {
    #[serde(borrow, default)]
    pub comment: Option<Activity<'a>>,
    #[serde(borrow, default)]
    pub share: Option<Activity<'a>>,
}

/// A comment or share.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Activity<'a> {
    #[serde(borrow, default)]
    pub owner: Opt<'a>,
    #[serde(borrow, default)]
    pub text: Opt<'a>,
}
