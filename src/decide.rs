//! What to do with a message, and why. Pure: verdict + classification +
//! ticket context + rules -> [`Decision`]. The order of the checks is the
//! policy: machine mail is only recorded; sensitive conversations stay
//! sensitive; follow-ups go to people; unsure classifications go to people
//! with the candidates; untrusted senders never get an automatic answer.

use crate::classify::{self, Classification, TopicSource, Unsure};
use crate::guard::Verdict;
use crate::rules::RuleSet;
use serde::Serialize;

/// The four things helpgate can do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    AutoReply,
    Human,
    Escalate,
    Ignore,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::AutoReply => "auto_reply",
            Action::Human => "human",
            Action::Escalate => "escalate",
            Action::Ignore => "ignore",
        }
    }

    /// The action named `s` in rule files.
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "auto_reply" => Action::AutoReply,
            "human" => Action::Human,
            "escalate" => Action::Escalate,
            "ignore" => Action::Ignore,
            _ => return None,
        })
    }
}

/// The decision for one message.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub action: Action,
    /// The human queue, for `human` and `escalate`.
    pub queue: Option<String>,
    /// The template to answer with, for `auto_reply`.
    pub template: Option<String>,
    pub reason: String,
}

impl Decision {
    /// An automatic answer that the loop guard or a limit held back: a
    /// person answers, and the reason says so once instead of claiming the
    /// answer and then taking it back.
    pub fn hold_back(&mut self, why: &str, queue: &str) {
        let head = self
            .reason
            .split_once(": answered with")
            .map_or(self.reason.as_str(), |(h, _)| h)
            .trim_end_matches('.');
        let why = why.strip_prefix("no automatic reply: ").unwrap_or(why);
        let template = self.template.take().unwrap_or_else(|| "automatic".into());
        self.reason = format!(
            "{head}: the {template} template would answer, but {why}: held back, a person answers."
        );
        self.action = Action::Human;
        self.queue = self.queue.take().or_else(|| Some(queue.to_string()));
    }
}

/// What the store knows about the conversation a message belongs to.
#[derive(Debug, Clone, Default)]
pub struct TicketContext {
    /// The message continues an existing ticket.
    pub follow_up: bool,
    pub project: String,
    pub ticket_language: Option<String>,
    pub ticket_topic: Option<String>,
    /// The ticket's current queue.
    pub ticket_queue: Option<String>,
}

/// Decide on a copy of `class` refined through [`classify::refine`] (the
/// ticket's earlier language and topic, the project's default), for callers
/// that do not keep the refined classification; the pipeline, which stores
/// it, refines once and calls [`decide_refined`].
pub fn decide(
    verdict: &Verdict,
    class: &Classification,
    ctx: &TicketContext,
    rules: &RuleSet,
) -> Decision {
    let mut refined = class.clone();
    classify::refine(&mut refined, ctx, rules);
    decide_refined(verdict, &refined, ctx, rules)
}

/// The decision for mail over the size limit, of which only the header
/// block was read (`class` as [`classify::refine`] left it): always a person, in the restricted queue when what the
/// headers say (an appeal in the subject, a sensitive conversation) would
/// escalate.
pub fn oversize(
    verdict: &Verdict,
    class: &Classification,
    ctx: &TicketContext,
    rules: &RuleSet,
    size: u64,
    limit: u64,
) -> Decision {
    let what = format!(
        "Message is {}, over the {} limit: kept raw",
        size_text(size),
        size_text(limit)
    );
    let d = decide_refined(verdict, class, ctx, rules);
    if d.action == Action::Escalate {
        return Decision {
            reason: format!("{what}; {}", d.reason),
            ..d
        };
    }
    let queue = d
        .queue
        .or_else(|| ctx.ticket_queue.clone())
        .unwrap_or_else(|| rules.default_queue.clone());
    Decision {
        action: Action::Human,
        queue: Some(queue),
        template: None,
        reason: format!("{what} for a person."),
    }
}

/// "52.4 MB", "512 KB", "900 bytes": a limit under 1 MB is not "0 MB".
fn size_text(bytes: u64) -> String {
    const MB: u64 = 1 << 20;
    match bytes {
        b if b >= MB => format!("{:.1} MB", b as f64 / MB as f64),
        b if b >= 1024 => format!("{} KB", b.div_ceil(1024)),
        b => format!("{b} bytes"),
    }
}

/// The second opinion's margin at which it names the topic of a first
/// message the rules found none for (`other`), and at which it relabels one
/// that goes to a person anyway. Chosen by leave-one-set-out runs over nine
/// independent sets and checked again over fifteen (README, "The second
/// opinion, built"): lower margins relabel more wrongly than rightly.
const SECOND_OPINION_FILL: f64 = 0.06;
const SECOND_OPINION_RELABEL: f64 = 0.08;
/// Where the rules found no topic, a sensitive vote needs less: "when in
/// doubt, escalate". tests/fixtures/unseen/second_opinion_loso.py over
/// nineteen sets (2,006 first messages with a vote), sensitive votes on mail
/// the rules call `other`: from 0.06, 49 sensitive mails escalated and 7
/// others; from 0.04, 57 and 10; from 0.03, 58 and 13; from 0, 58 and 21.
const SECOND_OPINION_FILL_SENSITIVE: f64 = 0.04;
/// A topic the rules found no evidence for is named by the vote only when
/// the vote read at least this many known n-grams. On a few, the classes'
/// priors make the margin: the empty or one-word test mails of public
/// parser suites ("body", "eh", "τεστ") drew abuse and privacy at margins
/// of 0.5-0.7 and were escalated (7 of the corpus's 692 mails). Votes
/// against an answer are not held to it: on short participant mail they
/// still withhold wrong answers.
const SECOND_OPINION_FILL_GRAMS: usize = 12;
/// A sensitive vote (the best of all classes) is a sensitive cue: the mail
/// is escalated, not answered (issue 14: "when in doubt"). Not at a tie:
/// "Payment missing 679 ... week 679" drew privacy at margin 0.00 with the
/// seventh session's model (0.024 with the eighth's: the crash test counts
/// answers per decision, not per mail). second_opinion_loso.py over 22
/// sets, votes against an automatic answer: 24 right / 11 wrong from 0,
/// 23 / 10 from 0.02, 23 / 9 from 0.03. 0.03 was tried: it spares one
/// person a mail, and the held-out unseen21 then got one automatic answer
/// to a sensitive mail; an answer to sensitive mail costs more.
const SECOND_OPINION_VETO: f64 = 0.02;
/// ... and more where the rules' own evidence for the answer is strong: the
/// margin needed is at least this much per point of the rules' topic score
/// (0.049 for a payment question scoring 6.5). Ninth session, the same
/// script over 25 sets (its "k * the rules' score" lines): every vote that
/// escalated a sensitive mail the rules would answer had a margin of at
/// least 0.01 per point of their score, while 5 of the 13 wrong ones (plain
/// payment and upload questions scoring 4.5-8.5, margins 0.026-0.07) did
/// not: 25 right / 8 wrong instead of 25 / 13 (0.015: 24 / 8); with round
/// 11's rules, 25 / 7 instead of 25 / 12 (0.015: 24 / 7). A model
/// trained with the borderline unseen27 voted abuse at 0.03-0.04 on some
/// of the crash test's "I did not get paid for my recordings of week N".
/// Eleventh session, nine sets scored with the rules of the day
/// (rules_of_the_day.py): 0.01 vetoed 5 answers rightly and 2 wrongly;
/// 0.0075 also stops two abuse reports answered with the payment template
/// (scores 5 and 5.5, votes 0.04 and 0.05) and no other answer
/// (leave-one-set-out with today's rules: 3 more plain questions go to a
/// person). The crash test's 1,000 texts, score 6.5, draw sensitive votes
/// of at most 0.044, under the 0.049 they would now need.
const SECOND_OPINION_VETO_PER_POINT: f64 = 0.0075;
/// A clear vote for another topic withholds an automatic answer: the answer
/// needs positive evidence, and two readers disagreeing is not that. The
/// mail goes to a person under the vote's topic; an answer with the vote's
/// template would be the model choosing an answer, which it never does.
/// tests/fixtures/unseen/second_opinion_loso.py over 22 sets with round
/// 10 (1,067 automatic answers to first messages, 68 of them to the wrong
/// topic): from 0.2 it withholds 20, 17 of them wrong answers (most of them
/// rejection disputes answered with the instructions), topic +14; from
/// 0.15, 25 and 21 (+17); from 0.1, 31 and 24 (+16). 0.15 also withheld the
/// answer to "I uploaded my recordings but I did not get paid yet" (vote
/// upload_confirmation at 0.19), a payment question: the daemon tests'
/// "Hello, I uploaded my recordings but I did not get paid yet." draws
/// upload_confirmation at 0.17 with today's model, so 0.15 is too low.
const SECOND_OPINION_DISAGREE: f64 = 0.2;
/// ... and at least this per point of the rules' score: clear rules need a
/// clearer vote, as for a sensitive veto. Nine sets scored with the rules
/// of the day (tests/fixtures/unseen/rules_of_the_day.py), where the rules
/// answer more mail wrongly: 0.2 flat withholds 10 wrong answers and 1
/// right one (instructions scoring 25, vote 0.23); with this bar, 11 and
/// 0. 0.1 flat: 17 and 5, the 5 with rules scores of 2 to 25 and votes of
/// 0.10 to 0.23. Leave-one-set-out over 25 sets with today's rules (60
/// answers the model disagrees with): 0.2 flat 19 and 3, with this bar 19
/// and 2. A clear vote still counts: 0.72 over a score of 17.5 was a
/// rejection dispute answered with the instructions.
const SECOND_OPINION_DISAGREE_PER_POINT: f64 = 0.02;
/// A sensitive vote at this margin escalates mail that the rules give a
/// person under another topic (leave-one-set-out over fifteen sets: +12
/// topics, +11 actions right; 0.0-0.3 all gain, 0.1 most). Those runs
/// used rules written with the sets in view, which leave the model only
/// the hardest mail. On nine sets scored with the rules as they were
/// before each set was written (README, "Scoring with the rules of the
/// day"), 0.04 escalates 21 sensitive mails where 0.1 escalated 16 (8
/// ordinary mails escalated instead of 5): +3 topics, +4 actions right.
const SECOND_OPINION_ESCALATE: f64 = 0.04;
/// A sensitive vote on a follow-up's new text at this margin escalates it.
/// Leave-one-set-out over nineteen sets
/// (tests/fixtures/unseen/second_opinion_followup_cv.py): of 17 sensitive
/// follow-ups the rules miss it catches 13 at 0.08-0.12, with 12, 11 and 9
/// of 414 other follow-ups escalated wrongly; 11 and 6 at 0.15, 9 and 3 at
/// 0.2. A missed sensitive mail costs more than a person in the restricted
/// queue answering an ordinary one.
const SECOND_OPINION_FOLLOW_UP: f64 = 0.12;

/// The rules' own score for `other` at which a non-sensitive vote no longer
/// names another topic: mail to the wrong address (a bank, an app store, an
/// airline) or a question about a new project is what `other` patterns
/// describe, and the model, trained on topics, still votes the nearest one.
/// Fourteenth session, all tune sets: 9 first messages got a vote over
/// rules scoring `other` 3-15; from 7.5, 4 wrong topics become `other` and
/// 1 right one does (a tax question labelled payment, where other sets
/// label tax questions `other`); from 3, 5 and 4. A sensitive vote still
/// escalates: blocking those lost five sensitive mails (thirteenth session).
const OTHER_FIRM: f64 = 7.5;

fn other_evidence(class: &Classification) -> f64 {
    class
        .candidates
        .iter()
        .find(|c| c.topic == "other")
        .map_or(0.0, |c| c.score)
}

/// [`decide_refined`], then the second opinion on a first message. Where
/// the rules leave it to a person, a clear vote gives it a topic (and the
/// queue of that topic; a sensitive one escalates). Where they would answer
/// it, a vote for a sensitive topic escalates it instead, and a clear vote
/// for another topic gives it to a person. It never turns a
/// decision into an automatic answer and never overrules a sensitive topic
/// of the rules. The margins were chosen by leave-one-set-out runs
/// (tests/fixtures/unseen/second_opinion_cv.py).
pub fn decide_with_second_opinion(
    verdict: &Verdict,
    class: &mut Classification,
    ctx: &TicketContext,
    rules: &RuleSet,
) -> Decision {
    let d = decide_with_naive_bayes(verdict, class, ctx, rules);
    if verdict.is_machine() {
        return d;
    }
    let d = if ctx.follow_up {
        follow_up_models_agree(verdict, class, ctx, rules, d)
    } else {
        d
    };
    linear_escalation(verdict, class, ctx, rules, d)
}

/// The margins at which the two models' votes on a follow-up's new text,
/// when they name the same ordinary topic, relabel a follow-up that the
/// rules leave with its conversation's topic. Chosen by simulating on the
/// follow-ups of all unseen sets (the linear model never trained on
/// follow-ups), counted as topics made right / made wrong: these bars,
/// tune +5 / -0, held-out +8 / -1; with no bar on the second opinion, tune
/// +6 / -5; from a linear margin of 0.2, tune +8 / -2, held-out +8 / -2.
/// Either model alone relabels more wrongly than rightly: a nudge ("any
/// news?") reads like whatever it was trained on. Ingested as built (only follow-ups the
/// rules leave to the conversation): tune +2 / -0, held-out +6 / -1, and
/// on unseen52, written after the bars were set, 0 / -1.
const FOLLOW_UP_AGREE_LINEAR: f64 = 0.3;
const FOLLOW_UP_AGREE_SECOND_OPINION: f64 = 0.2;

/// A follow-up kept on its conversation's topic whose new text both models
/// read as another ordinary topic takes that topic. Only the label moves:
/// a follow-up goes to a person either way, and a sensitive conversation
/// or vote is left to [`sensitive_follow_up`].
fn follow_up_models_agree(
    verdict: &Verdict,
    class: &mut Classification,
    ctx: &TicketContext,
    rules: &RuleSet,
    d: Decision,
) -> Decision {
    if d.action != Action::Human
        || !matches!(class.topic_source, TopicSource::Ticket | TopicSource::Text)
    {
        return d;
    }
    let (Some(nb), Some(lin)) = (&class.second_opinion_new_text, &class.linear_new_text) else {
        return d;
    };
    let topic = class.topic.as_deref().unwrap_or("other");
    let sensitive = |t: &str| rules.is_sensitive_topic(&ctx.project, t);
    let agree = nb.topic == lin.topic
        && lin.topic != topic
        && lin.topic != "other"
        && rules.topics.iter().any(|t| t.id == lin.topic)
        && !sensitive(&lin.topic)
        && !sensitive(topic)
        && nb.margin >= FOLLOW_UP_AGREE_SECOND_OPINION
        && lin.margin >= FOLLOW_UP_AGREE_LINEAR;
    if !agree {
        return d;
    }
    let replaced = topic.to_string();
    class.topic = Some(lin.topic.clone());
    if let Some(v) = class.linear_new_text.as_mut() {
        v.replaced = Some(replaced);
    }
    class.topic_source = TopicSource::ModelsAgree;
    decide_refined(verdict, class, ctx, rules)
}

/// The linear model's margin (the gap between its two most likely
/// classes' probabilities) at which its vote for a sensitive topic
/// escalates a first message that the rules and the second opinion would
/// answer automatically ...
///
/// Chosen with the shipped trainer: six-fold leave-sets-out over the 37
/// tune sets (3,705 first messages with a vote) and, trained on all of
/// them, the twelve held-out sets (1,215). Counted: sensitive mail the
/// rules miss that the vote escalates / ordinary mail it escalates. With
/// these bars: tune 0 / 4, held-out 6 / 0 (two of the six were sensitive
/// mails the rules answered, at margins 0.21 and 0.25). Against an answer
/// from 0.15: 0 / 5 and 7 / 0; from 0.3: 0 / 3 and 4 / 0. One bar of 0.2
/// for both cases: 1 / 17 and 6 / 0; of 0.5: 0 / 3 and 4 / 0. An answer to
/// sensitive mail costs more than a person reading an ordinary one in the
/// restricted queue.
const LINEAR_VETO: f64 = 0.2;
/// ... or give to a person in an ordinary queue.
const LINEAR_ESCALATE: f64 = 0.5;

/// A clear sensitive vote of the linear model escalates a first message
/// that is not escalated yet, and a follow-up whose new text it reads so at
/// the bar of mail a person reads anyway (a follow-up is never answered):
/// over the follow-ups of all unseen sets, from a margin of 0.5, tune 0
/// caught / 0 ordinary escalated, held-out 1 / 0 (from 0.3: 0 / 5 and 1 / 1).
/// It never moves a mail toward an answer nor away from a sensitive topic.
fn linear_escalation(
    verdict: &Verdict,
    class: &mut Classification,
    ctx: &TicketContext,
    rules: &RuleSet,
    d: Decision,
) -> Decision {
    if !matches!(d.action, Action::AutoReply | Action::Human) {
        return d;
    }
    let topic = class.topic.as_deref().unwrap_or("other").to_string();
    let sensitive = |t: &str| rules.is_sensitive_topic(&ctx.project, t);
    let vote = if ctx.follow_up {
        class.linear_new_text.as_mut()
    } else {
        class.linear.as_mut()
    };
    let Some(vote) = vote else {
        return d;
    };
    let needed = if d.action == Action::AutoReply {
        LINEAR_VETO
    } else {
        LINEAR_ESCALATE
    };
    if !sensitive(&vote.topic) || sensitive(&topic) || vote.margin < needed {
        return d;
    }
    vote.replaced = Some(topic);
    vote.answer_withheld = d.action == Action::AutoReply;
    class.topic = Some(vote.topic.clone());
    class.topic_uncertain = false;
    class.topic_source = TopicSource::LinearModel;
    decide_refined(verdict, class, ctx, rules)
}

/// [`decide_refined`], then the naive Bayes second opinion.
fn decide_with_naive_bayes(
    verdict: &Verdict,
    class: &mut Classification,
    ctx: &TicketContext,
    rules: &RuleSet,
) -> Decision {
    let d = decide_refined(verdict, class, ctx, rules);
    if verdict.is_machine() {
        return d;
    }
    if ctx.follow_up {
        return sensitive_follow_up(verdict, class, ctx, rules, d);
    }
    let Some(vote) = &class.second_opinion else {
        return d;
    };
    let topic = class.topic.as_deref().unwrap_or("other");
    if d.action == Action::AutoReply && crate::classify::spam::suspected_by_vote(vote, &class.spam)
    {
        let route_queue = rules
            .route(&ctx.project, topic)
            .and_then(|r| r.queue.clone());
        let rules_say = if class.spam.signals.is_empty() {
            "the rules see no spam cue".to_string()
        } else {
            format!(
                "the rules agree (spam score {}: {})",
                class.spam.score,
                class.spam.signals.join(", ")
            )
        };
        return Decision {
            action: Action::Human,
            queue: Some(route_queue.unwrap_or_else(|| rules.default_queue.clone())),
            template: None,
            reason: format!(
                "Topic {topic} would get an automatic answer, but the second opinion votes spam (margin {:.2}) and {rules_say}: a person decides.",
                vote.margin,
            ),
        };
    }
    let sensitive = |t: &str| rules.is_sensitive_topic(&ctx.project, t);
    let needed = if d.action == Action::AutoReply && sensitive(&vote.topic) {
        SECOND_OPINION_VETO.max(SECOND_OPINION_VETO_PER_POINT * class.topic_score)
    } else if d.action == Action::AutoReply && vote.topic != "spam" {
        SECOND_OPINION_DISAGREE.max(SECOND_OPINION_DISAGREE_PER_POINT * class.topic_score)
    } else if d.action != Action::Human
        || (topic == "other" && vote.known < SECOND_OPINION_FILL_GRAMS)
    {
        return d;
    } else if topic == "other" && sensitive(&vote.topic) {
        SECOND_OPINION_FILL_SENSITIVE
    } else if topic == "other" && other_evidence(class) >= OTHER_FIRM {
        return d;
    } else if topic == "other" {
        SECOND_OPINION_FILL
    } else if sensitive(topic) {
        return d;
    } else if sensitive(&vote.topic) {
        SECOND_OPINION_ESCALATE
    } else {
        SECOND_OPINION_RELABEL
    };
    let known = rules.topics.iter().any(|t| t.id == vote.topic);
    if !known || vote.topic == topic || vote.margin < needed {
        return d;
    }
    let replaced = topic.to_string();
    class.topic = Some(vote.topic.clone());
    if let Some(v) = class.second_opinion.as_mut() {
        v.replaced = Some(replaced);
        v.answer_withheld = d.action == Action::AutoReply;
    }
    class.topic_uncertain = false;
    class.topic_source = TopicSource::SecondOpinion;
    decide_refined(verdict, class, ctx, rules)
}

/// The second opinion on a follow-up: only a sensitive vote on its new
/// text (the subject is the conversation's) counts, and only toward
/// escalation. Its other votes would relabel what the conversation already
/// gives a person.
fn sensitive_follow_up(
    verdict: &Verdict,
    class: &mut Classification,
    ctx: &TicketContext,
    rules: &RuleSet,
    d: Decision,
) -> Decision {
    if d.action != Action::Human {
        return d;
    }
    let Some(vote) = class.second_opinion_new_text.as_mut() else {
        return d;
    };
    // The rules' own evidence for the vote's topic in this mail (a yielded
    // "I haven't done anything wrong" in a rejection thread) makes two
    // readers agree: then the margin of a first message's escalation is
    // enough. The candidates read the subject too, which is the
    // conversation's: a sensitive word there counts as well, toward
    // escalation only.
    let seconded = class
        .candidates
        .iter()
        .any(|c| c.topic == vote.topic && c.score >= rules.thresholds.auto_reply_min_score);
    let needed = if seconded {
        SECOND_OPINION_ESCALATE
    } else {
        SECOND_OPINION_FOLLOW_UP
    };
    if !rules.is_sensitive_topic(&ctx.project, &vote.topic) || vote.margin < needed {
        return d;
    }
    vote.replaced = Some(class.topic.take().unwrap_or_else(|| "other".into()));
    class.topic = Some(vote.topic.clone());
    class.topic_uncertain = false;
    class.topic_source = TopicSource::SecondOpinion;
    decide_refined(verdict, class, ctx, rules)
}

/// Decide on a classification that [`classify::refine`] has settled.
pub fn decide_refined(
    verdict: &Verdict,
    class: &Classification,
    ctx: &TicketContext,
    rules: &RuleSet,
) -> Decision {
    match verdict {
        Verdict::Machine { kind, reason } if !spam_in_thread(verdict, ctx) => {
            return Decision {
                action: Action::Ignore,
                queue: None,
                template: None,
                reason: format!(
                    "Machine mail ({kind}): {reason}; recorded, never answered or queued."
                ),
            };
        }
        _ => {}
    }
    let topic = class.topic.as_deref().unwrap_or("other");
    let route = rules.route(&ctx.project, topic);
    let human = |reason: String, queue: Option<&str>| Decision {
        action: Action::Human,
        queue: Some(queue.unwrap_or(&rules.default_queue).to_string()),
        template: None,
        reason,
    };
    let sensitive_ticket = ctx
        .ticket_topic
        .as_deref()
        .is_some_and(|t| rules.is_sensitive_topic(&ctx.project, t))
        || ctx
            .ticket_queue
            .as_deref()
            .is_some_and(|q| rules.is_restricted_queue(q));
    let strong = rules.thresholds.auto_reply_min_score;
    // A topic carried over from the conversation escalates as the
    // conversation, not as something this message says.
    let sensitive_topic = class.topic_source != TopicSource::Ticket
        && route.is_some_and(|r| r.sensitive)
        && !(class.topic_uncertain && class.topic_score < strong);
    if sensitive_topic || (ctx.follow_up && sensitive_ticket) {
        let queue = route
            .filter(|r| r.sensitive)
            .and_then(|r| r.queue.clone())
            .or_else(|| {
                ctx.ticket_queue
                    .clone()
                    .filter(|q| rules.is_restricted_queue(q))
            })
            .unwrap_or_else(|| rules.sensitive_queue.clone());
        let reason = if ctx.follow_up
            && sensitive_topic
            && class.topic_source == TopicSource::NewText
        {
            format!("Follow-up whose new text is about {topic}, a sensitive topic: escalated to the restricted queue {queue}.")
        } else if let Some(v) = second_opinion(class, ctx) {
            format!("{v}, a sensitive topic: escalated to the restricted queue {queue}, no canned answer.")
        } else if sensitive_topic {
            format!("Topic {topic} is sensitive: escalated to the restricted queue {queue}, no canned answer.")
        } else {
            let earlier = ctx.ticket_topic.as_deref().unwrap_or("sensitive");
            format!("Follow-up in a sensitive conversation ({earlier}): escalated to the restricted queue {queue}.")
        };
        return Decision {
            action: Action::Escalate,
            queue: Some(queue),
            template: None,
            reason,
        };
    }
    let route_queue = route.and_then(|r| r.queue.as_deref());
    if ctx.follow_up {
        let queue = ctx.ticket_queue.as_deref().or(route_queue);
        let why = match (&class.second_opinion_new_text, &class.linear_new_text) {
            (Some(nb), Some(lin)) if class.topic_source == TopicSource::ModelsAgree => format!(
                "Follow-up in an existing conversation (topic {}) whose new text both models read as {topic} (second opinion margin {:.2}, linear model margin {:.2}): a person answers.",
                lin.replaced.as_deref().unwrap_or("other"),
                nb.margin,
                lin.margin
            ),
            _ => format!("Follow-up in an existing conversation (topic {topic}): a person answers."),
        };
        return human(why, queue);
    }
    if let Some(v) = second_opinion(class, ctx) {
        return human(format!("{v}: a person answers."), route_queue);
    }
    if class.topic_uncertain || (topic == "other" && !class.candidates.is_empty()) {
        let cands = candidates(class);
        let below = class.topic_score < rules.thresholds.min_score
            || class.unsure == Unsure::BelowThreshold;
        let why = match class.unsure {
            _ if below => format!("below the threshold {}", rules.thresholds.min_score),
            Unsure::LoneKeyword => "one keyword in the text is no topic".to_string(),
            Unsure::WeakSensitive => "weak words of a sensitive topic".to_string(),
            Unsure::TooClose | Unsure::BelowThreshold => "too close to the runner-up".to_string(),
        };
        return human(
            format!("Topic unsure ({why}); candidates: {cands}. A person decides."),
            route_queue,
        );
    }
    let Some(route) = route else {
        return human(
            format!("No route for topic {topic}: a person decides."),
            None,
        );
    };
    match route.action {
        Action::AutoReply => {
            if let Some(why) = no_positive_evidence(class, rules) {
                return human(
                    format!(
                        "Topic {topic} would get an automatic answer, but {why}: a person decides."
                    ),
                    route_queue,
                );
            }
            let floor = rules.thresholds.auto_reply_min_score;
            if class.topic_score < floor {
                return human(
                    format!(
                        "Topic {topic} has score {} below the auto-reply threshold {floor}; candidates: {}. A person decides.",
                        class.topic_score,
                        candidates(class)
                    ),
                    route_queue,
                );
            }
            if let Verdict::Untrusted { reason } | Verdict::Away { reason } = verdict {
                return human(
                    format!("Topic {topic} would get an automatic answer, but {reason}: a person decides."),
                    route_queue,
                );
            }
            let template = route.template.clone();
            let lang = class.language.as_deref().unwrap_or("?");
            Decision {
                action: Action::AutoReply,
                queue: None,
                reason: format!(
                    "First message about {topic} (score {}), language {lang}: answered with the {} template.",
                    class.topic_score,
                    template.as_deref().unwrap_or(topic)
                ),
                template,
            }
        }
        Action::Ignore => Decision {
            action: Action::Ignore,
            queue: None,
            template: None,
            reason: format!("Topic {topic} is routed to ignore: recorded only."),
        },
        Action::Escalate => {
            let queue = route
                .queue
                .clone()
                .unwrap_or_else(|| rules.sensitive_queue.clone());
            Decision {
                action: Action::Escalate,
                reason: format!("Topic {topic} is routed to escalate: queue {queue}."),
                queue: Some(queue),
                template: None,
            }
        }
        Action::Human => {
            let what = if topic == "other" {
                "No known topic".to_string()
            } else {
                format!("Topic {topic}")
            };
            human(format!("{what}: a person answers."), route_queue)
        }
    }
}

/// "The rules found no topic (candidates ...); the second opinion votes
/// payment (margin 0.09)", when the topic is the second opinion's.
fn second_opinion(class: &Classification, ctx: &TicketContext) -> Option<String> {
    if class.topic_source == TopicSource::LinearModel && ctx.follow_up {
        return Some(follow_up_vote(
            "the linear model",
            class.linear_new_text.as_ref()?,
        ));
    }
    if class.topic_source == TopicSource::LinearModel {
        let v = class.linear.as_ref()?;
        let rules = match v.replaced.as_deref() {
            Some("other") | None => "No known topic".to_string(),
            Some(t) if v.answer_withheld => format!("Topic {t} would get an automatic answer"),
            Some(t) => format!("Topic {t} goes to a person"),
        };
        return Some(format!(
            "{rules}; the linear model votes {} (margin {:.2}, runner-up {})",
            v.topic, v.margin, v.runner_up
        ));
    }
    if class.topic_source != TopicSource::SecondOpinion {
        return None;
    }
    if ctx.follow_up {
        return Some(follow_up_vote(
            "the second opinion",
            class.second_opinion_new_text.as_ref()?,
        ));
    }
    let v = class.second_opinion.as_ref()?;
    let rules = match v.replaced.as_deref() {
        Some("other") | None => format!(
            "The rules found no topic (candidates: {})",
            candidates(class)
        ),
        Some(t) if v.answer_withheld => {
            format!("The rules' topic {t} would get an automatic answer")
        }
        Some(t) => format!("The rules' topic {t} goes to a person"),
    };
    Some(format!(
        "{rules}; the second opinion votes {} (margin {:.2}, runner-up {})",
        v.topic, v.margin, v.runner_up
    ))
}

/// Why `who`'s vote on a follow-up's new text took its topic.
fn follow_up_vote(who: &str, v: &crate::classify::second_opinion::Vote) -> String {
    format!(
        "Follow-up whose new text the rules give a person (topic {}); {who} on its new text votes {} (margin {:.2}, runner-up {})",
        v.replaced.as_deref().unwrap_or("other"),
        v.topic,
        v.margin,
        v.runner_up
    )
}

/// Content spam that threads into an existing conversation is a
/// participant's reply quoting something odd, not spam: a person reads it.
fn spam_in_thread(verdict: &Verdict, ctx: &TicketContext) -> bool {
    ctx.follow_up
        && matches!(verdict, Verdict::Machine { kind, reason }
            if kind == "spam" && reason.starts_with(crate::classify::spam::BY_CONTENT))
}

/// Why a mail with an answerable topic still gets no automatic answer: an
/// answer needs positive evidence, so any sensitive cue or a spam doubt
/// hands it to a person.
fn no_positive_evidence(class: &Classification, rules: &RuleSet) -> Option<String> {
    if let Some(h) = &class.sensitive_hint {
        return Some(format!("it has a sensitive cue ({} {})", h.topic, h.score));
    }
    if class.spam.is_doubtful(rules) {
        return Some(format!(
            "it looks like spam (score {}: {})",
            class.spam.score,
            class.spam.signals.join(", ")
        ));
    }
    None
}

fn candidates(class: &Classification) -> String {
    if class.candidates.is_empty() {
        return "none".to_string();
    }
    let list: Vec<String> = class
        .candidates
        .iter()
        .map(|c| format!("{} {}", c.topic, c.score))
        .collect();
    list.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{Candidate, LanguageSource};

    fn class(topic: &str, score: f64) -> Classification {
        Classification {
            language: Some("pt".into()),
            language_source: Some(LanguageSource::Detector),
            topic: Some(topic.into()),
            topic_score: score,
            candidates: vec![Candidate {
                topic: topic.into(),
                score,
            }],
            ..Classification::default()
        }
    }

    fn ctx() -> TicketContext {
        TicketContext {
            project: "default".into(),
            ..TicketContext::default()
        }
    }

    #[test]
    fn first_message_routes_by_topic() {
        let r = RuleSet::builtin();
        let d = decide(&Verdict::Human, &class("payment", 5.0), &ctx(), &r);
        assert_eq!(
            (d.action, d.template.as_deref(), d.queue.as_deref()),
            (Action::AutoReply, Some("payment"), None)
        );
        let d = decide(&Verdict::Human, &class("account", 5.0), &ctx(), &r);
        assert_eq!(
            (d.action, d.queue.as_deref()),
            (Action::Human, Some("general"))
        );
        let d = decide(&Verdict::Human, &class("abuse", 5.0), &ctx(), &r);
        assert_eq!(
            (d.action, d.queue.as_deref()),
            (Action::Escalate, Some("sensitive"))
        );
        assert!(d.template.is_none());
    }

    #[test]
    fn a_follow_up_whose_own_text_is_sensitive_escalates() {
        let r = RuleSet::builtin();
        let follow = TicketContext {
            follow_up: true,
            ticket_topic: Some("payment".into()),
            ticket_queue: Some("general".into()),
            ..ctx()
        };
        // The old subject keeps payment ahead; the new text threatens a lawyer.
        let mut c = class("payment", 9.0);
        c.candidates.push(Candidate {
            topic: "abuse".into(),
            score: 2.0,
        });
        let d = decide(&Verdict::Human, &c, &follow, &r);
        assert_eq!(
            (d.action, d.queue.as_deref()),
            (Action::Escalate, Some("sensitive"))
        );
        assert!(d.reason.contains("abuse"), "{}", d.reason);
        // A weak hint below the auto-reply threshold does not.
        c.candidates[1].score = 1.0;
        let d = decide(&Verdict::Human, &c, &follow, &r);
        assert_eq!(d.action, Action::Human);
    }

    #[test]
    fn an_auto_reply_that_reads_as_spam_stays_ignored_when_it_threads_in() {
        let r = RuleSet::builtin();
        let follow = TicketContext {
            follow_up: true,
            ticket_topic: Some("other".into()),
            ticket_queue: Some("general".into()),
            ..ctx()
        };
        let spam = crate::classify::spam::Assessment {
            score: 3.0,
            content: 3.0,
            strong_cue: true,
            signals: vec!["cue \"merci de ne pas repondre a ce message\"".into()],
            ..Default::default()
        };
        let screened = |guard: Verdict| crate::classify::spam::screen(guard, &spam, &r);
        // A help desk's acknowledgement of our reply (Auto-Submitted).
        let auto = screened(Verdict::Machine {
            kind: "autoreply".into(),
            reason: "Auto-Submitted: auto-generated".into(),
        });
        let d = decide(&auto, &class("other", 3.0), &follow, &r);
        assert_eq!(d.action, Action::Ignore, "{}", d.reason);
        // A person's reply with the same wording still reaches a person.
        let person = screened(Verdict::Human);
        let d = decide(&person, &class("other", 3.0), &follow, &r);
        assert_eq!(d.action, Action::Human, "{}", d.reason);
        // Neither is answered as a first message.
        assert_eq!(
            decide(&auto, &class("other", 3.0), &ctx(), &r).action,
            Action::Ignore
        );
        assert_eq!(
            decide(&person, &class("other", 3.0), &ctx(), &r).action,
            Action::Ignore
        );
    }

    #[test]
    fn oversize_mail_goes_to_a_person_and_an_appeal_to_the_restricted_queue() {
        let r = RuleSet::builtin();
        let d = oversize(
            &Verdict::Human,
            &class("appeal", 5.0),
            &ctx(),
            &r,
            3 << 20,
            512 * 1024,
        );
        assert_eq!(
            (d.action, d.queue.as_deref()),
            (Action::Escalate, Some("sensitive"))
        );
        assert!(
            d.reason
                .starts_with("Message is 3.0 MB, over the 512 KB limit"),
            "{}",
            d.reason
        );
        let d = oversize(
            &Verdict::Human,
            &class("payment", 5.0),
            &ctx(),
            &r,
            900,
            800,
        );
        assert_eq!(
            (d.action, d.queue.as_deref(), d.template),
            (Action::Human, Some("general"), None)
        );
        assert!(
            d.reason.contains("900 bytes, over the 800 bytes limit"),
            "{}",
            d.reason
        );
    }

    #[test]
    fn a_held_back_answer_says_so_once() {
        let r = RuleSet::builtin();
        let mut d = decide(&Verdict::Human, &class("payment", 5.0), &ctx(), &r);
        assert_eq!(d.action, Action::AutoReply);
        d.hold_back(
            "no automatic reply: 3 replies to this address in the last hour",
            "general",
        );
        assert_eq!((d.action, d.template.as_deref()), (Action::Human, None));
        assert!(!d.reason.contains("answered with"), "{}", d.reason);
        assert!(
            d.reason
                .contains("the payment template would answer, but 3 replies"),
            "{}",
            d.reason
        );
    }

    #[test]
    fn an_answer_needs_positive_evidence() {
        let r = RuleSet::builtin();
        let mut c = class("payment", 5.0);
        c.sensitive_hint = Some(Candidate {
            topic: "privacy".into(),
            score: 1.0,
        });
        let d = decide(&Verdict::Human, &c, &ctx(), &r);
        assert_eq!(d.action, Action::Human);
        assert!(
            d.reason.contains("sensitive cue (privacy 1)"),
            "{}",
            d.reason
        );
        let mut c = class("payment", 5.0);
        c.spam.score = 2.0;
        c.spam.signals.push("Reply-To in another domain".into());
        let d = decide(&Verdict::Human, &c, &ctx(), &r);
        assert_eq!(d.action, Action::Human);
        assert!(d.reason.contains("looks like spam"), "{}", d.reason);
    }

    #[test]
    fn machine_mail_is_ignored_without_queue() {
        let r = RuleSet::builtin();
        let v = Verdict::Machine {
            kind: "bounce".into(),
            reason: "a delivery report".into(),
        };
        let d = decide(&v, &class("payment", 9.0), &ctx(), &r);
        assert_eq!((d.action, d.queue), (Action::Ignore, None));
        assert!(d.reason.contains("bounce"), "{}", d.reason);
    }

    #[test]
    fn follow_ups_go_to_people_and_sensitive_tickets_stay_sensitive() {
        let r = RuleSet::builtin();
        let follow = TicketContext {
            follow_up: true,
            ticket_topic: Some("payment".into()),
            ticket_queue: Some("general".into()),
            ..ctx()
        };
        let d = decide(&Verdict::Human, &class("payment", 5.0), &follow, &r);
        assert_eq!(
            (d.action, d.queue.as_deref()),
            (Action::Human, Some("general"))
        );
        let sensitive = TicketContext {
            ticket_topic: Some("privacy".into()),
            ticket_queue: Some("sensitive".into()),
            ..follow
        };
        let d = decide(&Verdict::Human, &class("payment", 5.0), &sensitive, &r);
        assert_eq!(
            (d.action, d.queue.as_deref()),
            (Action::Escalate, Some("sensitive"))
        );
    }

    #[test]
    fn an_unsure_topic_says_why() {
        let r = RuleSet::builtin();
        let ctx = TicketContext::default();
        let why = |score: f64, unsure: Unsure| {
            let mut c = class("other", score);
            c.topic_uncertain = true;
            c.unsure = unsure;
            c.candidates.push(Candidate {
                topic: "instructions".into(),
                score,
            });
            decide(&Verdict::Human, &c, &ctx, &r).reason
        };
        let lone = why(1.0, Unsure::LoneKeyword);
        assert!(
            lone.contains("one keyword in the text is no topic"),
            "{lone}"
        );
        assert!(!lone.contains("runner-up"), "{lone}");
        let close = why(3.0, Unsure::TooClose);
        assert!(close.contains("too close to the runner-up"), "{close}");
        let below = why(0.5, Unsure::LoneKeyword);
        assert!(below.contains("below the threshold"), "{below}");
    }

    #[test]
    fn unsure_topics_show_candidates_and_untrusted_senders_get_no_answer() {
        let r = RuleSet::builtin();
        let mut c = class("payment", 3.0);
        c.topic_uncertain = true;
        c.candidates.push(Candidate {
            topic: "upload_confirmation".into(),
            score: 2.5,
        });
        let d = decide(&Verdict::Human, &c, &ctx(), &r);
        assert_eq!(d.action, Action::Human);
        assert!(
            d.reason.contains("payment 3, upload_confirmation 2.5"),
            "{}",
            d.reason
        );
        let v = Verdict::Untrusted {
            reason: "the sender failed DMARC".into(),
        };
        let d = decide(&v, &class("payment", 5.0), &ctx(), &r);
        assert_eq!(d.action, Action::Human);
        assert!(d.reason.contains("DMARC"), "{}", d.reason);
        let v = Verdict::Away {
            reason: "it may be an out-of-office notice".into(),
        };
        let d = decide(&v, &class("payment", 5.0), &ctx(), &r);
        assert_eq!(d.action, Action::Human);
        assert!(d.reason.contains("out-of-office"), "{}", d.reason);
        assert_eq!(
            decide(&v, &class("appeal", 5.0), &ctx(), &r).action,
            Action::Escalate
        );
    }

    #[test]
    fn a_weak_language_falls_back_to_the_ticket_then_the_project() {
        let r = RuleSet::builtin();
        let mut c = class("other", 0.0);
        c.language = Some("it".into());
        c.language_source = Some(LanguageSource::WeakGuess);
        let follow = TicketContext {
            follow_up: true,
            ticket_language: Some("nl".into()),
            ..ctx()
        };
        classify::refine(&mut c, &follow, &r);
        assert_eq!(
            (c.language.as_deref(), c.language_source),
            (Some("nl"), Some(LanguageSource::Ticket))
        );
        let mut c = class("other", 0.0);
        c.language = None;
        c.language_source = None;
        classify::refine(&mut c, &ctx(), &r);
        assert_eq!(
            (c.language.as_deref(), c.language_source),
            (Some("en"), Some(LanguageSource::ProjectDefault))
        );
    }

    fn voted(topic: &str, score: f64, vote: &str, margin: f64) -> Classification {
        Classification {
            second_opinion: Some(crate::classify::second_opinion::Vote {
                topic: vote.into(),
                margin,
                runner_up: "other".into(),
                replaced: None,
                answer_withheld: false,
                known: 100,
            }),
            ..class(topic, score)
        }
    }

    /// (action, topic, topic source) after the second opinion.
    fn with_vote(c: &mut Classification, ctx: &TicketContext) -> (Action, String, TopicSource) {
        let d = decide_with_second_opinion(&Verdict::Human, c, ctx, &RuleSet::builtin());
        (d.action, c.topic.clone().unwrap(), c.topic_source)
    }

    #[test]
    fn the_second_opinion_names_a_topic_the_rules_did_not_find_but_never_answers() {
        let mut c = voted("other", 0.0, "payment", 0.1);
        let got = with_vote(&mut c, &ctx());
        assert_eq!(
            got,
            (Action::Human, "payment".into(), TopicSource::SecondOpinion)
        );
        let d = decide_with_second_opinion(&Verdict::Human, &mut c, &ctx(), &RuleSet::builtin());
        assert!(d.template.is_none());
        assert!(
            d.reason
                .contains("second opinion votes payment (margin 0.10"),
            "{}",
            d.reason
        );
        // A sensitive vote escalates.
        let mut c = voted("other", 0.0, "privacy", 0.1);
        assert_eq!(with_vote(&mut c, &ctx()).0, Action::Escalate);
        // A weak one changes nothing.
        let mut c = voted("other", 0.0, "payment", 0.03);
        let got = with_vote(&mut c, &ctx());
        assert_eq!(got, (Action::Human, "other".into(), TopicSource::Text));
        // A sensitive vote needs less where the rules found nothing, but
        // not nothing.
        let mut c = voted("other", 0.0, "privacy", 0.04);
        assert_eq!(with_vote(&mut c, &ctx()).0, Action::Escalate);
        let mut c = voted("other", 0.0, "privacy", 0.03);
        assert_eq!(with_vote(&mut c, &ctx()).0, Action::Human);
        // A vote on a few n-grams ("body", "eh") names nothing, however
        // large its margin; against an answer it still counts.
        let few = |c: &mut Classification| {
            if let Some(v) = c.second_opinion.as_mut() {
                v.known = SECOND_OPINION_FILL_GRAMS - 1;
            }
        };
        let mut c = voted("other", 0.0, "abuse", 0.7);
        few(&mut c);
        let got = with_vote(&mut c, &ctx());
        assert_eq!(got, (Action::Human, "other".into(), TopicSource::Text));
        let mut c = voted("payment", 5.0, "rejection_dispute", 0.9);
        few(&mut c);
        assert_eq!(with_vote(&mut c, &ctx()).0, Action::Human);
    }

    #[test]
    fn where_the_rules_firmly_say_other_only_a_sensitive_vote_counts() {
        // A card charge sent to the wrong address: the rules' `other`
        // patterns score it, the model votes the nearest topic it knows.
        let mut c = voted("other", OTHER_FIRM, "payment", 0.4);
        let got = with_vote(&mut c, &ctx());
        assert_eq!(got, (Action::Human, "other".into(), TopicSource::Text));
        let mut c = voted("other", OTHER_FIRM - 0.5, "payment", 0.4);
        assert_eq!(with_vote(&mut c, &ctx()).1, "payment");
        let mut c = voted("other", OTHER_FIRM, "appeal", 0.1);
        assert_eq!(with_vote(&mut c, &ctx()).0, Action::Escalate);
    }

    #[test]
    fn a_sensitive_vote_withholds_an_automatic_answer() {
        let mut c = voted("payment", 2.0, "abuse", SECOND_OPINION_VETO);
        let d = decide_with_second_opinion(&Verdict::Human, &mut c, &ctx(), &RuleSet::builtin());
        assert_eq!(
            (d.action, d.queue.as_deref()),
            (Action::Escalate, Some("sensitive"))
        );
        assert!(c.second_opinion.as_ref().unwrap().answer_withheld);
        assert!(
            d.reason.contains("payment would get an automatic answer"),
            "{}",
            d.reason
        );
        // A tie is no vote.
        let mut c = voted("payment", 5.0, "privacy", 0.004);
        assert_eq!(with_vote(&mut c, &ctx()).0, Action::AutoReply);
    }

    #[test]
    fn the_stronger_the_rules_answer_the_clearer_a_sensitive_vote_must_be() {
        // A plain payment question (score 6.5) against a near-tie abuse vote.
        let mut c = voted("payment", 6.5, "abuse", 0.04);
        assert_eq!(with_vote(&mut c, &ctx()).0, Action::AutoReply);
        let mut c = voted("payment", 6.5, "abuse", 0.07);
        assert_eq!(with_vote(&mut c, &ctx()).0, Action::Escalate);
        // Barely enough for an answer: the floor holds.
        let mut c = voted("payment", 2.0, "privacy", SECOND_OPINION_VETO);
        assert_eq!(with_vote(&mut c, &ctx()).0, Action::Escalate);
    }

    #[test]
    fn a_clear_vote_for_another_topic_withholds_an_automatic_answer_but_never_gives_one() {
        // Instructions by the rules, a dispute by the vote: a person, under the vote's topic.
        let mut c = voted(
            "instructions",
            3.0,
            "rejection_dispute",
            SECOND_OPINION_DISAGREE,
        );
        let d = decide_with_second_opinion(&Verdict::Human, &mut c, &ctx(), &RuleSet::builtin());
        assert_eq!((d.action, d.template), (Action::Human, None));
        assert_eq!(c.topic.as_deref(), Some("rejection_dispute"));
        assert!(c.second_opinion.as_ref().unwrap().answer_withheld);
        assert!(
            d.reason.starts_with("The rules' topic instructions would get an automatic answer; the second opinion votes rejection_dispute"),
            "{}",
            d.reason
        );
        // A vote for another answerable topic is not an answer with its template.
        let mut c = voted("payment", 5.0, "upload_confirmation", 0.9);
        let d = decide_with_second_opinion(&Verdict::Human, &mut c, &ctx(), &RuleSet::builtin());
        assert_eq!((d.action, d.template), (Action::Human, None));
        assert_eq!(c.topic.as_deref(), Some("upload_confirmation"));
        // Below the margin, or agreeing, the rules answer.
        for (vote, margin) in [
            ("rejection_dispute", SECOND_OPINION_DISAGREE - 0.01),
            ("payment", 0.9),
        ] {
            let mut c = voted("payment", 5.0, vote, margin);
            let got = with_vote(&mut c, &ctx());
            assert_eq!(
                got,
                (Action::AutoReply, "payment".into(), TopicSource::Text),
                "{vote} {margin}"
            );
        }
    }

    #[test]
    fn the_second_opinion_relabels_only_what_goes_to_a_person_anyway() {
        let mut c = voted("account", 5.0, "rejection_dispute", 0.1);
        let got = with_vote(&mut c, &ctx());
        assert_eq!(
            got,
            (
                Action::Human,
                "rejection_dispute".into(),
                TopicSource::SecondOpinion
            )
        );
        // Not below its margin, not over a sensitive topic of the rules.
        for (topic, vote, margin) in [
            (
                "account",
                "rejection_dispute",
                SECOND_OPINION_RELABEL - 0.01,
            ),
            ("appeal", "payment", 0.9),
            ("account", "appeal", SECOND_OPINION_ESCALATE - 0.01),
        ] {
            let mut c = voted(topic, 5.0, vote, margin);
            assert_eq!(
                with_vote(&mut c, &ctx()).1,
                topic,
                "{topic} {vote} {margin}"
            );
        }
        // A clear sensitive vote escalates what goes to a person anyway.
        let mut c = voted("account", 5.0, "appeal", SECOND_OPINION_ESCALATE);
        assert_eq!(with_vote(&mut c, &ctx()).0, Action::Escalate);
        // Never in a follow-up: the conversation decides there.
        let follow = TicketContext {
            follow_up: true,
            ticket_topic: Some("payment".into()),
            ..ctx()
        };
        let mut c = voted("other", 0.0, "abuse", 0.9);
        assert_eq!(with_vote(&mut c, &follow).1, "other");
        let mut c = voted("payment", 5.0, "abuse", 0.9);
        assert_eq!(with_vote(&mut c, &follow).0, Action::Human);
    }

    /// `class(topic, score)` with the linear model voting `vote` at `margin`.
    fn linear_voted(topic: &str, score: f64, vote: &str, margin: f64) -> Classification {
        Classification {
            linear: voted("other", 0.0, vote, margin).second_opinion,
            ..class(topic, score)
        }
    }

    #[test]
    fn a_clear_sensitive_vote_of_the_linear_model_escalates_a_first_message() {
        let r = RuleSet::builtin();
        let decide = |c: &mut Classification, ctx: &TicketContext| {
            decide_with_second_opinion(&Verdict::Human, c, ctx, &r)
        };
        // Against an answer, the lower bar.
        let mut c = linear_voted("payment", 6.5, "privacy", LINEAR_VETO);
        let d = decide(&mut c, &ctx());
        assert_eq!((d.action, d.template.as_deref()), (Action::Escalate, None));
        assert_eq!(c.topic.as_deref(), Some("privacy"));
        assert_eq!(c.topic_source, TopicSource::LinearModel);
        assert!(
            d.reason.starts_with("Topic payment would get an automatic answer; the linear model votes privacy (margin 0.20"),
            "{}",
            d.reason
        );
        let mut c = linear_voted("payment", 6.5, "privacy", LINEAR_VETO - 0.01);
        assert_eq!(decide(&mut c, &ctx()).action, Action::AutoReply);
        // Mail a person reads anyway needs the higher bar.
        let mut c = linear_voted("account", 6.5, "abuse", LINEAR_ESCALATE - 0.01);
        assert_eq!(decide(&mut c, &ctx()).action, Action::Human);
        let mut c = linear_voted("account", 6.5, "abuse", LINEAR_ESCALATE);
        let d = decide(&mut c, &ctx());
        assert_eq!(
            (d.action, d.queue.as_deref()),
            (Action::Escalate, Some("sensitive"))
        );
    }

    #[test]
    fn the_linear_model_never_answers_nor_calms_a_sensitive_mail_nor_reads_a_follow_up() {
        let r = RuleSet::builtin();
        // A clear vote for an answered topic changes nothing.
        let mut c = linear_voted("other", 0.0, "payment", 0.99);
        let d = decide_with_second_opinion(&Verdict::Human, &mut c, &ctx(), &r);
        assert_eq!(
            (d.action, c.topic.as_deref()),
            (Action::Human, Some("other"))
        );
        // Nor does one against a sensitive topic of the rules.
        let mut c = linear_voted("appeal", 8.0, "payment", 0.99);
        let d = decide_with_second_opinion(&Verdict::Human, &mut c, &ctx(), &r);
        assert_eq!(
            (d.action, c.topic.as_deref()),
            (Action::Escalate, Some("appeal"))
        );
        // A follow-up's subject is its conversation's: its vote on subject
        // and text is not asked there, only the one on its new text.
        let (mut c, follow) = follow_up_voted("other", 0.0);
        c.linear = linear_voted("other", 0.0, "privacy", 0.99).linear;
        let d = decide_with_second_opinion(&Verdict::Human, &mut c, &follow, &r);
        assert_eq!(d.action, Action::Human);
        // Machine mail is never asked.
        let mut c = linear_voted("payment", 6.5, "privacy", 0.99);
        let machine = Verdict::Machine {
            kind: "autoreply".into(),
            reason: "Auto-Submitted".into(),
        };
        let d = decide_with_second_opinion(&machine, &mut c, &ctx(), &r);
        assert_eq!(d.action, Action::Ignore);
    }

    /// A follow-up in a rejection conversation whose new text the model
    /// votes `vote` on with `margin`.
    fn follow_up_voted(vote: &str, margin: f64) -> (Classification, TicketContext) {
        let mut c = class("rejection_dispute", 0.0);
        c.topic_source = TopicSource::Ticket;
        c.second_opinion_new_text = voted("other", 0.0, vote, margin).second_opinion;
        let follow = TicketContext {
            follow_up: true,
            ticket_topic: Some("rejection_dispute".into()),
            ticket_queue: Some("general".into()),
            ..ctx()
        };
        (c, follow)
    }

    #[test]
    fn a_clear_sensitive_vote_on_a_follow_up_s_new_text_escalates_it() {
        let r = RuleSet::builtin();
        let (mut c, follow) = follow_up_voted("privacy", SECOND_OPINION_FOLLOW_UP);
        let d = decide_with_second_opinion(&Verdict::Human, &mut c, &follow, &r);
        assert_eq!(
            (d.action, d.queue.as_deref(), d.template),
            (Action::Escalate, Some("sensitive"), None)
        );
        assert_eq!(
            (c.topic.as_deref(), c.topic_source),
            (Some("privacy"), TopicSource::SecondOpinion)
        );
        let v = c.second_opinion_new_text.as_ref().unwrap();
        assert_eq!(v.replaced.as_deref(), Some("rejection_dispute"));
        let want = format!("(topic rejection_dispute); the second opinion on its new text votes privacy (margin {SECOND_OPINION_FOLLOW_UP:.2}, runner-up other), a sensitive topic: escalated to the restricted queue sensitive");
        assert!(d.reason.contains(&want), "{}", d.reason);
    }

    #[test]
    fn below_its_margin_or_not_sensitive_a_follow_up_s_vote_changes_nothing() {
        let r = RuleSet::builtin();
        for (vote, margin) in [
            ("abuse", SECOND_OPINION_FOLLOW_UP - 0.01),
            ("payment", 0.9),
            ("spam", 0.9),
            ("other", 0.9),
        ] {
            let (mut c, follow) = follow_up_voted(vote, margin);
            let d = decide_with_second_opinion(&Verdict::Human, &mut c, &follow, &r);
            assert_eq!(
                (d.action, d.queue.as_deref()),
                (Action::Human, Some("general")),
                "{vote} {margin}"
            );
            assert_eq!(
                (c.topic.as_deref(), c.topic_source),
                (Some("rejection_dispute"), TopicSource::Ticket),
                "{vote} {margin}"
            );
            assert!(d
                .reason
                .starts_with("Follow-up in an existing conversation"));
        }
        // The vote on subject and text does not count on a follow-up.
        let (mut c, follow) = follow_up_voted("payment", 0.0);
        c.second_opinion = voted("other", 0.0, "abuse", 0.9).second_opinion;
        let d = decide_with_second_opinion(&Verdict::Human, &mut c, &follow, &r);
        assert_eq!(d.action, Action::Human);
    }

    #[test]
    fn a_clear_sensitive_linear_vote_on_a_follow_up_s_new_text_escalates_it() {
        let r = RuleSet::builtin();
        let linear_on_new_text = |margin: f64| {
            let (mut c, follow) = follow_up_voted("other", 0.0);
            c.linear_new_text = voted("other", 0.0, "abuse", margin).second_opinion;
            let d = decide_with_second_opinion(&Verdict::Human, &mut c, &follow, &r);
            (d, c)
        };
        let (d, c) = linear_on_new_text(LINEAR_ESCALATE);
        assert_eq!(
            (d.action, d.queue.as_deref(), d.template),
            (Action::Escalate, Some("sensitive"), None)
        );
        assert_eq!(
            (c.topic.as_deref(), c.topic_source),
            (Some("abuse"), TopicSource::LinearModel)
        );
        assert_eq!(
            d.reason,
            "Follow-up whose new text the rules give a person (topic rejection_dispute); the linear model on its new text votes abuse (margin 0.50, runner-up other), a sensitive topic: escalated to the restricted queue sensitive, no canned answer."
        );
        // A follow-up is read by a person anyway: the higher bar.
        let (d, c) = linear_on_new_text(LINEAR_ESCALATE - 0.01);
        assert_eq!(
            (d.action, c.topic.as_deref()),
            (Action::Human, Some("rejection_dispute"))
        );
    }

    #[test]
    fn both_models_reading_a_follow_up_as_another_ordinary_topic_relabel_it_for_a_person() {
        let r = RuleSet::builtin();
        // "Thanks, and when will I be paid?" in a rejection thread.
        let agreeing = |nb: (&str, f64), lin: (&str, f64)| {
            let (mut c, follow) = follow_up_voted(nb.0, nb.1);
            c.linear_new_text = voted("other", 0.0, lin.0, lin.1).second_opinion;
            let d = decide_with_second_opinion(&Verdict::Human, &mut c, &follow, &r);
            (d, c)
        };
        let (d, c) = agreeing(
            ("payment", FOLLOW_UP_AGREE_SECOND_OPINION),
            ("payment", FOLLOW_UP_AGREE_LINEAR),
        );
        assert_eq!(
            (d.action, d.queue.as_deref(), d.template),
            (Action::Human, Some("general"), None)
        );
        assert_eq!(
            (c.topic.as_deref(), c.topic_source),
            (Some("payment"), TopicSource::ModelsAgree)
        );
        assert_eq!(
            d.reason,
            "Follow-up in an existing conversation (topic rejection_dispute) whose new text both models read as payment (second opinion margin 0.20, linear model margin 0.30): a person answers."
        );
        // One model alone, a weak vote, two different topics, `other`: the
        // conversation's topic stays.
        for (nb, lin) in [
            (("payment", 0.9), ("upload_confirmation", 0.9)),
            (
                ("payment", FOLLOW_UP_AGREE_SECOND_OPINION - 0.01),
                ("payment", 0.9),
            ),
            (("payment", 0.9), ("payment", FOLLOW_UP_AGREE_LINEAR - 0.01)),
            (("other", 0.9), ("other", 0.9)),
        ] {
            let (d, c) = agreeing(nb, lin);
            assert_eq!(
                (d.action, c.topic.as_deref(), c.topic_source),
                (
                    Action::Human,
                    Some("rejection_dispute"),
                    TopicSource::Ticket
                ),
                "{nb:?} {lin:?}"
            );
        }
        let (mut c, follow) = follow_up_voted("payment", 0.9);
        let d = decide_with_second_opinion(&Verdict::Human, &mut c, &follow, &r);
        assert_eq!(
            c.topic.as_deref(),
            Some("rejection_dispute"),
            "{}",
            d.reason
        );
        // A sensitive conversation keeps its topic and its queue; a
        // sensitive vote is the escalation's business, not a relabel.
        let (mut c, mut follow) = follow_up_voted("payment", 0.9);
        c.topic = Some("appeal".into());
        follow.ticket_topic = Some("appeal".into());
        c.linear_new_text = voted("other", 0.0, "payment", 0.9).second_opinion;
        let d = decide_with_second_opinion(&Verdict::Human, &mut c, &follow, &r);
        assert_eq!(
            (d.action, c.topic.as_deref()),
            (Action::Escalate, Some("appeal"))
        );
        let (d, c) = agreeing(("privacy", 0.05), ("privacy", 0.9));
        assert_eq!(
            (d.action, c.topic.as_deref(), c.topic_source),
            (Action::Escalate, Some("privacy"), TopicSource::LinearModel)
        );
    }

    #[test]
    fn a_follow_up_vote_the_rules_second_escalates_at_a_first_message_s_margin() {
        let r = RuleSet::builtin();
        let margin = (SECOND_OPINION_ESCALATE + SECOND_OPINION_FOLLOW_UP) / 2.0;
        // "... and now I'm paused, I haven't done anything wrong" in a
        // rejection thread: appeal wording the conversation's topic outweighs.
        for (appeal_score, want) in [(3.0, Action::Escalate), (1.0, Action::Human)] {
            let (mut c, follow) = follow_up_voted("appeal", margin);
            c.candidates.push(Candidate {
                topic: "appeal".into(),
                score: appeal_score,
            });
            let d = decide_with_second_opinion(&Verdict::Human, &mut c, &follow, &r);
            assert_eq!(d.action, want, "appeal evidence {appeal_score}");
        }
        // Without the model's agreement the rules' yielded evidence stays
        // with the conversation.
        let (mut c, follow) = follow_up_voted("appeal", SECOND_OPINION_ESCALATE - 0.01);
        c.candidates.push(Candidate {
            topic: "appeal".into(),
            score: 3.0,
        });
        let d = decide_with_second_opinion(&Verdict::Human, &mut c, &follow, &r);
        assert_eq!(d.action, Action::Human);
    }

    #[test]
    fn a_clear_spam_vote_the_rules_agree_with_withholds_an_automatic_answer() {
        let r = RuleSet::builtin();
        let run = |margin: f64, spam_score: f64| {
            let mut c = voted("payment", 5.0, "spam", margin);
            c.spam.score = spam_score;
            decide_with_second_opinion(&Verdict::Human, &mut c, &ctx(), &r)
        };
        let d = run(0.6, 1.0);
        assert_eq!((d.action, d.template), (Action::Human, None));
        assert!(
            d.reason.contains("second opinion votes spam (margin 0.60)"),
            "{}",
            d.reason
        );
        // The vote alone, or a weak one, changes nothing...
        assert_eq!(run(0.6, 0.5).action, Action::AutoReply);
        assert_eq!(run(0.4, 1.0).action, Action::AutoReply);
        // ... unless it is very clear.
        let d = run(1.0, 0.0);
        assert_eq!((d.action, d.template), (Action::Human, None));
        assert!(
            d.reason.contains("the rules see no spam cue"),
            "{}",
            d.reason
        );
        assert_eq!(run(0.99, 0.0).action, Action::AutoReply);
    }
}
