/**
 * @module web/driver-earnings
 * The driver's earnings card (docs/API.md, earnings and "Payouts"): the last 7 days' net and
 * tips, the payout balance (available now, on hold, in transit), the payout account (a Stripe
 * Connect `acct_…`), a button that pays out everything available, and the payout history.
 */
import type { Payout, RidewireClient } from "@ridewire/client";
import { describeError, fill, h, money, statusLine } from "./dom";
import { when } from "./rider-scheduled";

const PAYOUT_STATUS: Record<Payout["status"], string> = {
  pending: "on its way",
  paid: "paid",
  failed: "failed: the money is back on your earnings",
};

export function earningsCard(api: RidewireClient): { el: HTMLElement; refresh: () => Promise<void> } {
  const status = statusLine();
  const week = h("p", { "data-testid": "earnings-week" }, "…");
  const balance = h("dl", { class: "balance", "data-testid": "payout-balance" });
  const accountText = h("p", { "data-testid": "payout-account" }, "…");
  const accountInput = h("input", {
    type: "text",
    name: "payoutAccount",
    "aria-label": "Payout account",
    placeholder: "acct_…",
    autocomplete: "off",
    spellcheck: "false",
    maxlength: 69,
  });
  const accountForm = h("form", { class: "row" }, accountInput, h("button", { type: "submit" }, "Save account"));
  const payoutButton = h("button", { type: "button", class: "primary" }, "Pay out now");
  const holdHint = h("p", { class: "hint" });
  const history = h("ul", { class: "payouts", "aria-label": "Payout history" });

  accountForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = accountInput.value.trim();
    // The same rule as the server's, said before a round trip.
    if (!/^acct_[A-Za-z0-9]{8,64}$/.test(id)) {
      status.say("A payout account id looks like acct_ followed by 8 to 64 letters or digits.", "error");
      accountInput.focus();
      return;
    }
    try {
      const account = await api.setPayoutAccount(id);
      accountInput.value = "";
      status.say(`Payouts now go to ${account.accountId}.`);
      await refresh();
    } catch (err) {
      status.say(describeError(err), "error");
    }
  });

  payoutButton.addEventListener("click", async () => {
    payoutButton.disabled = true;
    try {
      const payout = await api.requestPayout();
      const amount = money(payout.amount);
      const why = payout.failure ? ` (${payout.failure})` : "";
      status.say(
        payout.status === "failed"
          ? `The payout of ${amount} failed${why}: the money is back on your earnings.`
          : `Payout of ${amount} ${payout.status === "paid" ? "sent" : "on its way"}.`,
        payout.status === "failed" ? "error" : "info",
      );
      await refresh();
    } catch (err) {
      status.say(describeError(err), "error");
    } finally {
      payoutButton.disabled = false;
    }
  });

  // Answers can cross (after a payout, and the refresh on load): the newest counts.
  let reads = 0;
  async function refresh(): Promise<void> {
    const read = ++reads;
    try {
      const [earned, b, account, page] = await Promise.all([
        api.earnings(),
        api.payoutBalance(),
        api.payoutAccount(),
        api.payouts({ limit: 10 }),
      ]);
      if (read !== reads) return;
      const e = earned.earnings;
      const trips = `${earned.trips} trip${earned.trips === 1 ? "" : "s"}`;
      const tips = e.tips.amount ? `, tips ${money(e.tips)} included` : "";
      week.textContent = `Last 7 days: ${money(e.net)} from ${trips}${tips}`;
      fill(
        balance,
        h("dt", {}, "Available"),
        h("dd", { "data-testid": "payout-available" }, money(b.available)),
        h("dt", {}, "On hold"),
        h("dd", {}, money(b.onHold)),
        h("dt", {}, "In transit"),
        h("dd", {}, money(b.inTransit)),
      );
      accountText.textContent = account
        ? `Payouts go to ${account.accountId}.`
        : "No payout account yet: add your Stripe account id (acct_…) to be paid.";
      const holdHours = Math.round(b.holdMs / 3_600_000);
      holdHint.textContent = holdHours
        ? `What you earn is on hold for ${holdHours} hour${holdHours === 1 ? "" : "s"} before it can be paid out.`
        : "";
      payoutButton.hidden = !account;
      payoutButton.title = `At least ${money(b.minimum)}`;
      fill(
        history,
        ...(page.payouts.length
          ? page.payouts.map((p) =>
              h(
                "li",
                { "data-payout": p.id, "data-status": p.status },
                h("strong", {}, money(p.amount)),
                ` ${PAYOUT_STATUS[p.status]} · ${when(p.createdAt)}`,
                p.trigger === "scheduled" ? " · daily payout" : "",
              ),
            )
          : [h("li", { class: "hint" }, "No payouts yet.")]),
      );
    } catch (err) {
      if (read === reads) status.say(describeError(err), "error");
    }
  }

  const el = h(
    "section",
    { class: "card earnings", "aria-label": "Earnings" },
    h("h2", {}, "Earnings"),
    week,
    balance,
    holdHint,
    accountText,
    accountForm,
    payoutButton,
    h("h3", {}, "Payouts"),
    history,
    status.el,
  );
  return { el, refresh };
}
