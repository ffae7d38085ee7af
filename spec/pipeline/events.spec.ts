// The policy's event hub: listener lists copied on write, the flags the hot path reads, and a
// listener that throws never stopping the others.
import { expect } from 'chai';
import { EventHub, type PolicyEventMap } from '../../src/pipeline/events.js';

const timeout: PolicyEventMap['timeout'] = { policy: 'p', stage: 'timeout', timeoutMs: 5 };

describe('events', () => {
  describe('EventHub', () => {
    it('knows the event names, and nothing else', () => {
      for (const event of ['success', 'failure', 'attempt', 'retry', 'rejected', 'timeout']) {
        expect(EventHub.isEvent(event), event).to.equal(true);
      }
      expect(EventHub.isEvent('fallback')).to.equal(true);
      expect(EventHub.isEvent('circuit-state')).to.equal(true);
      for (const other of ['Success', 'circuit', '', 1, undefined]) {
        expect(EventHub.isEvent(other), String(other)).to.equal(false);
      }
    });

    it('calls the listeners of an event in the order they subscribed, with the payload', () => {
      const hub = new EventHub();
      const log: string[] = [];
      hub.on('timeout', (e) => log.push(`a${e.timeoutMs}`));
      hub.on('timeout', (e) => log.push(`b${e.timeoutMs}`));
      hub.on('retry', () => log.push('retry'));
      hub.emit('timeout', timeout);
      expect(log).to.deep.equal(['a5', 'b5']);
    });

    it('raises watchesCalls while anyone listens for success or failure, watchesAttempts for attempt', () => {
      const hub = new EventHub();
      expect([hub.watchesCalls, hub.watchesAttempts]).to.deep.equal([false, false]);
      const offSuccess = hub.on('success', () => {});
      const offFailure = hub.on('failure', () => {});
      expect(hub.watchesCalls).to.equal(true);
      offSuccess();
      expect(hub.watchesCalls, 'failure still watched').to.equal(true);
      offFailure();
      expect(hub.watchesCalls).to.equal(false);
      const offAttempt = hub.on('attempt', () => {});
      expect([hub.watchesCalls, hub.watchesAttempts]).to.deep.equal([false, true]);
      offAttempt();
      expect(hub.watchesAttempts).to.equal(false);
    });

    it('removes one subscription per unsubscribe, once, even for a listener subscribed twice', () => {
      const hub = new EventHub();
      let calls = 0;
      const listener = () => calls++;
      const off1 = hub.on('timeout', listener);
      hub.on('timeout', listener);
      off1();
      off1();
      hub.emit('timeout', timeout);
      expect(calls).to.equal(1);
      expect(hub.has('timeout')).to.equal(true);
    });

    it('tells onCountChange the new count of the list that changed', () => {
      const hub = new EventHub();
      const counts: Array<[string, number]> = [];
      hub.onCountChange = (event, count) => counts.push([event, count]);
      const off = hub.on('rejected', () => {});
      hub.on('rejected', () => {});
      off();
      expect(counts).to.deep.equal([
        ['rejected', 1],
        ['rejected', 2],
        ['rejected', 1],
      ]);
    });

    it('lets an emit in progress reach every listener subscribed when it began', () => {
      const hub = new EventHub();
      const log: string[] = [];
      let offB: () => void = () => {};
      hub.on('timeout', () => {
        log.push('a');
        offB();
        hub.on('timeout', () => log.push('late'));
      });
      offB = hub.on('timeout', () => log.push('b'));
      hub.emit('timeout', timeout);
      expect(log).to.deep.equal(['a', 'b']);
      log.length = 0;
      hub.emit('timeout', timeout);
      expect(log).to.deep.equal(['a', 'late']);
    });

    it('keeps calling the other listeners when one throws', () => {
      const hub = new EventHub();
      const log: string[] = [];
      hub.on('timeout', () => {
        throw new Error('listener broke');
      });
      hub.on('timeout', () => log.push('after'));
      expect(() => hub.emit('timeout', timeout)).not.to.throw();
      expect(log).to.deep.equal(['after']);
    });
  });
});
