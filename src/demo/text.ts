import { Random } from './random';
import { FIRST_NAMES, LAST_NAMES, WORDS } from './words';

export interface Person {
  fullName: string;
  email: string;
}

/**
 * A user's name and e-mail, from the seed and the user's id alone, so an
 * invoice can repeat its billed user's details without reading the users
 * stream (erasure then has personal data to anonymize on both tables).
 */
export function personFor(seed: number, userId: number, domain: string): Person {
  const random = new Random(seed, 'person', userId);
  const first = random.pick(FIRST_NAMES);
  const last = random.pick(LAST_NAMES);
  return { fullName: `${first} ${last}`, email: `${first}.${last}.${userId}@${domain}`.toLowerCase() };
}

/** `words` words, capitalised, without a full stop (titles). */
export function phrase(random: Random, words: number): string {
  let text = random.pick(WORDS);
  text = text[0].toUpperCase() + text.slice(1);
  for (let i = 1; i < words; i++) text += ' ' + random.pick(WORDS);
  return text;
}

export function sentence(random: Random): string {
  return phrase(random, random.int(5, 16)) + '.';
}

/** Paragraphs of sentences, at least `minChars` long; paragraphs end with a newline pair. */
export function prose(random: Random, minChars: number): string {
  let text = sentence(random);
  let sentencesInParagraph = 1;
  while (text.length < minChars) {
    if (sentencesInParagraph >= 5 && random.chance(0.4)) {
      text += '\n\n';
      sentencesInParagraph = 0;
    } else {
      text += ' ';
    }
    text += sentence(random);
    sentencesInParagraph += 1;
  }
  return text;
}
